"""A gzip-compressed CSV, decompressed in memory."""

import csv
import gzip
import io


class GzipCsvConverter:
    name = "GzipCsvConverter"
    file_patterns = ["*.csv.gz", "*.gz"]

    def convert_file(self, file_path, args):
        with gzip.open(file_path, "rt", encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        header = rows[0]
        steps = []
        for row in rows:
            status = "P" if row["result"] == "PASS" else "F"
            steps.append({"stepType": "ET_NLT", "name": row["test"], "group": "M",
                          "status": status,
                          "numericMeas": [{"status": status, "value": float(row["value"]),
                                           "unit": row["unit"], "compOp": "LOG"}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        buffer = io.StringIO()
        buffer.write(f"{len(steps)} steps from {file_path.name}")
        return {"status": "Success", "report": {
            "type": "T", "pn": header["pn"], "sn": header["sn"], "rev": "1",
            "processCode": 10, "result": result, "start": header["start"],
            "root": {"stepType": "SequenceCall", "name": "Gzip", "status": result,
                     "seqCall": {"path": "gz", "name": "Gzip", "version": "1"},
                     "steps": steps}}, "metadata": {"summary": buffer.getvalue()}}
