"""Exact decimal arithmetic and unit scaling (mV, uA, kOhm)."""

import csv
from decimal import Decimal, InvalidOperation
from fractions import Fraction

SCALE = {"m": Decimal("0.001"), "u": Decimal("0.000001"), "k": Decimal(1000), "": Decimal(1)}


def _si(text):
    text = text.strip()
    for prefix in ("m", "u", "k"):
        if len(text) > 1 and text[0] == prefix and text[1:] in ("V", "A", "Ohm"):
            return SCALE[prefix], text[1:]
    return SCALE[""], text


class DecimalUnitsConverter:
    name = "DecimalUnitsConverter"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path, args):
        steps = []
        with file_path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                scale, unit = _si(row["unit"])
                try:
                    value = Decimal(row["value"]) * scale
                    low = Decimal(row["low"]) * scale
                    high = Decimal(row["high"]) * scale
                except InvalidOperation:
                    return {"status": "Failed", "error": f"bad number in {row['name']}"}
                status = "P" if low <= value <= high else "F"
                ratio = Fraction(value - low) / Fraction(high - low) if high > low else 0
                steps.append({"stepType": "ET_NLT", "name": row["name"], "group": "M",
                              "status": status,
                              "numericMeas": [{"status": status, "value": float(value),
                                               "unit": unit, "compOp": "GELE",
                                               "lowLimit": float(low), "highLimit": float(high)}],
                              "reportText": f"position in band {float(ratio):.2f}"})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": "PN-DEC", "sn": "DEC-1", "rev": "1", "processCode": 10,
            "result": result, "start": "2024-11-11T11:11:11+00:00",
            "root": {"stepType": "SequenceCall", "name": "Decimal", "status": result,
                     "seqCall": {"path": "dec", "name": "Decimal", "version": "1"},
                     "steps": steps}}}
