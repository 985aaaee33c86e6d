"""`key=value` log lines matched with precompiled regular expressions."""

import re
from datetime import datetime, timezone

LINE = re.compile(r"^(?P<time>\d{2}:\d{2}:\d{2})\s+(?P<key>[A-Z_]+)=(?P<value>.*)$")
MEAS = re.compile(r"^(?P<name>[\w ]+?)\s*:\s*(?P<value>-?\d+(?:\.\d+)?)\s*(?P<unit>\w*)"
                  r"\s*\[(?P<low>-?[\d.]+)\s*,\s*(?P<high>-?[\d.]+)\]$")


class KeyValueLogConverter:
    name = "KeyValueLogConverter"
    file_patterns = ["*.log"]

    def convert_file(self, file_path, args):
        header, steps, date = {}, [], None
        for raw in file_path.read_text(errors="replace").splitlines():
            match = LINE.match(raw.strip())
            if not match:
                continue
            key, value = match["key"], match["value"].strip()
            if key == "DATE":
                date = value
            elif key == "MEAS":
                steps.append(self._measure(value))
            else:
                header[key] = value
        if date is None or not steps:
            return {"status": "Failed", "error": "no DATE or no MEAS lines"}
        start = datetime.strptime(date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": header["PART"], "sn": header["SERIAL"],
            "rev": header.get("REV", "1"), "processCode": int(header.get("PROCESS", "10")),
            "result": result, "start": start.isoformat(),
            "uut": {"user": header.get("OPERATOR", ""), "fixtureId": header.get("FIXTURE", "")},
            "root": {"stepType": "SequenceCall", "name": "Log", "status": result,
                     "seqCall": {"path": "log", "name": "Log", "version": "1"},
                     "steps": steps}}}

    @staticmethod
    def _measure(text):
        match = MEAS.match(text)
        if not match:
            raise ValueError(f"bad MEAS line: {text}")
        value, low, high = (float(match[k]) for k in ("value", "low", "high"))
        status = "P" if low <= value <= high else "F"
        return {"stepType": "ET_NLT", "name": match["name"], "group": "M", "status": status,
                "numericMeas": [{"status": status, "value": value, "unit": match["unit"],
                                 "compOp": "GELE", "lowLimit": low, "highLimit": high}]}
