"""CSV with per-row comparison operators (EQ, LT, GELE ...)."""

import csv
import math
from datetime import datetime, timezone

COMPARE = {
    "EQ": lambda v, lo, hi: v == lo,
    "NE": lambda v, lo, hi: v != lo,
    "LT": lambda v, lo, hi: v < lo,
    "LE": lambda v, lo, hi: v <= lo,
    "GT": lambda v, lo, hi: v > lo,
    "GE": lambda v, lo, hi: v >= lo,
    "GELE": lambda v, lo, hi: lo <= v <= hi,
    "GTLT": lambda v, lo, hi: lo < v < hi,
    "LOG": lambda v, lo, hi: True,
}


def _float(text):
    text = (text or "").strip()
    return float(text) if text else math.nan


class LimitsCsvConverter:
    name = "LimitsCsvConverter"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path, args):
        rows = list(csv.DictReader(file_path.read_text().splitlines()))
        if not rows:
            return {"status": "Failed", "error": "no rows"}
        steps = []
        for row in rows:
            op = row["compop"].upper()
            check = COMPARE.get(op)
            if check is None:
                return {"status": "Failed", "error": f"unknown compOp {op}"}
            value, low, high = _float(row["value"]), _float(row["low"]), _float(row["high"])
            status = "P" if check(value, low, high) else "F"
            meas = {"status": status, "value": value, "unit": row["unit"], "compOp": op}
            if not math.isnan(low):
                meas["lowLimit"] = low
            if not math.isnan(high):
                meas["highLimit"] = high
            steps.append({"stepType": "ET_NLT", "name": row["name"], "group": "M",
                          "status": status, "numericMeas": [meas]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        first = rows[0]
        return {"status": "success", "report": {
            "type": "T", "pn": first["pn"], "sn": first["sn"], "rev": first["rev"],
            "processCode": int(first["process"]), "result": result,
            "start": datetime.fromtimestamp(int(first["epoch"]), timezone.utc).isoformat(),
            "root": {"stepType": "SequenceCall", "name": "Limits", "status": result,
                     "seqCall": {"path": "limits", "name": "Limits", "version": "1"},
                     "steps": steps}}}
