"""CSV test log to a WATS report: the spec's seed form, grown up.

Input: a header row `step,value,unit,low,high` after two metadata lines
`# serial=...` and `# part=...`.
"""

import csv
from datetime import datetime, timezone
from pathlib import Path


class CsvBasicConverter:
    name = "CsvBasicConverter"
    file_patterns = ["*.csv"]
    priority = 5

    def convert_file(self, file_path: Path, args: dict):
        try:
            lines = file_path.read_text(encoding="utf-8").splitlines()
            meta = {}
            while lines and lines[0].startswith("#"):
                key, _, value = lines.pop(0).lstrip("# ").partition("=")
                meta[key.strip()] = value.strip()
            steps = [self._step(row) for row in csv.DictReader(lines)]
            passed = all(s["status"] == "P" for s in steps)
            report = {
                "type": "T",
                "pn": meta.get("part", args.get("part_number", "UNKNOWN")),
                "sn": meta.get("serial", "UNKNOWN"),
                "rev": meta.get("rev", "A"),
                "processCode": int(args.get("process_code", 10)),
                "result": "P" if passed else "F",
                "start": datetime.now(timezone.utc).isoformat(),
                "root": {
                    "stepType": "SequenceCall",
                    "name": "MainSequence",
                    "status": "P" if passed else "F",
                    "seqCall": {"path": file_path.name, "name": "csv", "version": "1.0"},
                    "steps": steps,
                },
            }
            return {"status": "Success", "report": report,
                    "metadata": {"rows_processed": len(steps)}}
        except (OSError, ValueError, KeyError) as exc:
            return {"status": "Failed", "error": str(exc)}

    @staticmethod
    def _step(row):
        value = float(row["value"])
        low, high = float(row["low"]), float(row["high"])
        status = "P" if low <= value <= high else "F"
        return {
            "stepType": "ET_NLT",
            "name": row["step"],
            "group": "M",
            "status": status,
            "numericMeas": [{"status": status, "value": value, "unit": row["unit"],
                             "compOp": "GELE", "lowLimit": low, "highLimit": high}],
        }
