"""Many samples per test: report mean, spread and range as a multi-numeric step."""

import csv
import math
import statistics
from collections import defaultdict
from datetime import datetime, timezone


class StatisticsConverter:
    name = "StatisticsConverter"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path, args):
        samples = defaultdict(list)
        with file_path.open(newline="") as handle:
            for row in csv.reader(handle):
                if row and not row[0].startswith("#"):
                    samples[row[0]].append(float(row[1]))
        limit = float(args.get("max_stdev", 0.5))
        steps = []
        for name, values in sorted(samples.items()):
            mean = statistics.fmean(values)
            stdev = statistics.stdev(values) if len(values) > 1 else 0.0
            spread = max(values) - min(values)
            ok = stdev <= limit and math.isfinite(mean)
            status = "P" if ok else "F"
            steps.append({"stepType": "ET_MNLT", "name": name, "group": "M", "status": status,
                          "numericMeas": [
                              {"name": "mean", "status": "P", "value": round(mean, 6),
                               "unit": "", "compOp": "LOG"},
                              {"name": "stdev", "status": status, "value": round(stdev, 6),
                               "unit": "", "compOp": "LE", "lowLimit": limit},
                              {"name": "range", "status": "P", "value": round(spread, 6),
                               "unit": "", "compOp": "LOG"}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": "PN-STAT", "sn": file_path.stem.upper().replace("_", "-"),
            "rev": "1", "processCode": 10, "result": result,
            "start": datetime(2024, 1, 1, tzinfo=timezone.utc).isoformat(),
            "root": {"stepType": "SequenceCall", "name": "Stats", "status": result,
                     "seqCall": {"path": "stats", "name": "Stats", "version": "1"},
                     "steps": steps}}}
