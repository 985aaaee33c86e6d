"""One CSV holding several boards: one report per serial number."""

import csv
from collections import OrderedDict
from datetime import datetime, timedelta, timezone


class MultiUutCsvConverter:
    name = "MultiUutCsvConverter"
    file_patterns = ["panel_*.csv", "*.csv"]

    def convert_file(self, file_path, args):
        boards = OrderedDict()
        with file_path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                boards.setdefault(row["serial"], []).append(row)
        base = datetime(2024, 5, 2, 9, 0, tzinfo=timezone(timedelta(hours=2)))
        reports = [self._report(sn, rows, base + timedelta(seconds=30 * i), args)
                   for i, (sn, rows) in enumerate(boards.items())]
        failed = sum(r["result"] == "F" for r in reports)
        return {"status": "Success", "reports": reports,
                "metadata": {"boards": len(reports), "failed": failed}}

    def _report(self, serial, rows, start, args):
        steps = []
        for row in rows:
            verdict = row["verdict"].strip().upper()
            steps.append({"stepType": "ET_PFT", "name": row["test"], "group": "M",
                          "status": "P" if verdict == "PASS" else "F",
                          "booleanMeas": [{"status": "P" if verdict == "PASS" else "F"}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"type": "T", "pn": args.get("part_number", "PANEL-7"), "sn": serial,
                "rev": "1", "processCode": 30, "result": result, "start": start.isoformat(),
                "root": {"stepType": "SequenceCall", "name": "Panel test", "status": result,
                         "seqCall": {"path": "panel", "name": "Panel test", "version": "1"},
                         "steps": steps}}
