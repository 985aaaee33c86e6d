"""A station log with timestamps per line; execution time from first to last."""

from datetime import datetime, timezone


class StationLogConverter:
    name = "StationLogConverter"
    file_patterns = ["*.log", "*.txt"]

    def convert_file(self, file_path, args):
        entries = []
        for line in file_path.read_text().splitlines():
            if "|" not in line:
                continue
            stamp, kind, rest = (part.strip() for part in line.split("|", 2))
            entries.append((datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f"), kind, rest))
        info = {rest.split("=")[0]: rest.split("=")[1] for _, kind, rest in entries
                if kind == "INFO" and "=" in rest}
        steps = []
        for when, kind, rest in entries:
            if kind not in ("PASS", "FAIL"):
                continue
            status = "P" if kind == "PASS" else "F"
            steps.append({"stepType": "ET_PFT", "name": rest, "group": "M", "status": status,
                          "booleanMeas": [{"status": status}],
                          "start": when.replace(tzinfo=timezone.utc).isoformat()})
        first, last = entries[0][0], entries[-1][0]
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": info["pn"], "sn": info["sn"], "rev": "1", "processCode": 10,
            "result": result, "start": first.replace(tzinfo=timezone.utc).isoformat(),
            "uut": {"execTime": (last - first).total_seconds()},
            "root": {"stepType": "SequenceCall", "name": "Station", "status": result,
                     "seqCall": {"path": "station", "name": "Station", "version": "1"},
                     "steps": steps}}}
