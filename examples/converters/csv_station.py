"""Example converter: a test station's CSV log to a WATS (WSJF) test report.

Input (one file per unit under test):

    serial,SN-1001
    part,PN-42
    operator,alice
    start,2026-11-28T10:00:00+00:00
    step,limit_low,limit_high,value,unit
    Supply voltage,4.75,5.25,5.01,V
    ...

Only the standard library; reads its input, writes a summary to its output
folder, logs what it does.
"""

import csv
import datetime
import logging
import os
import pathlib
import uuid

log = logging.getLogger("csv_station")


class CsvStationConverter:
    name = "CsvStationConverter"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path: pathlib.Path, args: dict):
        rows = list(csv.reader(file_path.read_text(encoding="utf-8").splitlines()))
        header = {}
        steps = []
        in_steps = False
        for row in rows:
            if not row:
                continue
            if row[0] == "step":
                in_steps = True
                continue
            if in_steps:
                steps.append(self._step(row))
            else:
                header[row[0]] = row[1] if len(row) > 1 else ""
        if "serial" not in header:
            return {"status": "Failed", "error": "%s has no 'serial' line" % file_path.name}
        passed = all(s["status"] == "P" for s in steps)
        report = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "convbox-example/" + file_path.name)),
            "type": "T",
            "pn": header.get("part", args.get("part_number", "UNKNOWN")),
            "sn": header["serial"],
            "rev": args.get("revision", "A"),
            "processCode": int(args.get("process_code", 10)),
            "result": "P" if passed else "F",
            "start": header.get("start", datetime.datetime.now(datetime.timezone.utc).isoformat()),
            "uut": {"user": header.get("operator", "")},
            "root": {
                "stepType": "SequenceCall",
                "name": "MainSequence",
                "status": "P" if passed else "F",
                "seqCall": {"path": file_path.name, "name": "CSV", "version": "1.0"},
                "steps": steps,
            },
        }
        out = pathlib.Path(os.environ["CONVBOX_OUTPUT_DIR"]) / (file_path.stem + ".summary.txt")
        out.write_text("%s %s: %d steps, %s\n" % (report["pn"], report["sn"], len(steps),
                                                 "passed" if passed else "failed"))
        log.info("%s: %d steps, result %s", file_path.name, len(steps), report["result"])
        return {"status": "Success", "report": report, "metadata": {"steps": len(steps)}}

    @staticmethod
    def _step(row):
        name, low, high, value, unit = (row + [""] * 5)[:5]
        v, lo, hi = float(value), float(low), float(high)
        ok = lo <= v <= hi
        return {
            "stepType": "ET_NLT",
            "name": name,
            "group": "M",
            "status": "P" if ok else "F",
            "numericMeas": [{"status": "P" if ok else "F", "value": v, "unit": unit,
                             "compOp": "GELE", "lowLimit": lo, "highLimit": hi}],
        }
