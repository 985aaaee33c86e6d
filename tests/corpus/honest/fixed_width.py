"""Fixed-width columns from an old DOS tester.

Columns: 0-19 test name, 20-31 value, 32-39 unit, 40-51 low, 52-63 high,
64-67 PASS/FAIL. The first line is `SN <serial> PN <part> DT <iso time>`.
"""

from datetime import datetime

COLUMNS = (("name", 0, 20), ("value", 20, 32), ("unit", 32, 40), ("low", 40, 52),
           ("high", 52, 64), ("verdict", 64, 68))


def _cut(line):
    return {key: line[a:b].strip() for key, a, b in COLUMNS}


class FixedWidthConverter:
    name = "FixedWidthConverter"
    file_patterns = ["*.txt", "*.prn"]

    def convert_file(self, file_path, args):
        lines = file_path.read_text(encoding="ascii").splitlines()
        words = lines[0].split()
        head = dict(zip(words[::2], words[1::2]))
        steps = []
        for line in lines[1:]:
            if not line.strip() or line.startswith("-"):
                continue
            rec = _cut(line.ljust(68))
            status = "P" if rec["verdict"] == "PASS" else "F"
            steps.append({"stepType": "ET_NLT", "name": rec["name"], "group": "M",
                          "status": status,
                          "numericMeas": [{"status": status, "value": float(rec["value"]),
                                           "unit": rec["unit"], "compOp": "GELE",
                                           "lowLimit": float(rec["low"]),
                                           "highLimit": float(rec["high"])}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        start = datetime.strptime(head["DT"], "%Y-%m-%dT%H:%M:%S")
        return {"status": "Success", "report": {
            "type": "T", "pn": head["PN"], "sn": head["SN"], "rev": "1", "processCode": 10,
            "result": result, "start": start.isoformat() + "+00:00",
            "root": {"stepType": "SequenceCall", "name": "DOS", "status": result,
                     "seqCall": {"path": "prn", "name": "DOS", "version": "1"},
                     "steps": steps}}}
