"""European CSV export: semicolons, decimal commas, a header block."""

import csv
import io
from datetime import datetime


def _number(text):
    return float(text.strip().replace(",", "."))


class SemicolonCsvConverter:
    name = "SemicolonCsvConverter"
    file_patterns = ["*.csv", "*.txt"]

    def convert_file(self, file_path, args):
        text = file_path.read_text(encoding="utf-8-sig")
        header, _, table = text.partition("\n\n")
        info = dict(line.split(";", 1) for line in header.splitlines() if ";" in line)
        reader = csv.reader(io.StringIO(table), delimiter=";")
        columns = next(reader)
        steps = []
        for row in reader:
            if not row:
                continue
            rec = dict(zip(columns, row))
            value = _number(rec["Messwert"])
            low, high = _number(rec["Min"]), _number(rec["Max"])
            ok = low <= value <= high
            steps.append({
                "stepType": "ET_NLT", "name": rec["Test"], "group": "M",
                "status": "P" if ok else "F",
                "numericMeas": [{"status": "P" if ok else "F", "value": value,
                                 "unit": rec["Einheit"], "compOp": "GELE",
                                 "lowLimit": low, "highLimit": high}],
            })
        started = datetime.strptime(info["Datum"].strip(), "%d.%m.%Y %H:%M:%S")
        offset = args.get("utc_offset", "+01:00")
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        report = {
            "type": "T", "pn": info["Artikel"].strip(), "sn": info["Seriennummer"].strip(),
            "rev": info.get("Revision", "1").strip(), "processCode": 20, "result": result,
            "start": started.isoformat() + offset,
            "root": {"stepType": "SequenceCall", "name": "Pruefung", "status": result,
                     "seqCall": {"path": "export", "name": "Pruefung", "version": "2"},
                     "steps": steps},
        }
        return {"status": "Success", "report": report, "metadata": {"steps": len(steps)}}
