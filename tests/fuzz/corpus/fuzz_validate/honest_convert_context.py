"""The other form: convert(source, context), with arguments in context.args."""

import csv
from datetime import datetime, timezone


class ContextCsvConverter:
    name = "ContextCsvConverter"
    file_patterns = ["*.csv"]
    arguments = {
        "part_number": {"type": "str", "default": "PN-CTX"},
        "process_code": {"type": "int", "default": 10, "min": 1, "max": 9999},
    }

    def convert(self, source, context):
        args = context.args
        part = args.get("part_number", self.arguments["part_number"]["default"])
        process = int(args.get("process_code", self.arguments["process_code"]["default"]))
        with open(source, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        serial = rows[0][1]
        steps = []
        for name, reading in rows[1:]:
            ok = reading.lower() in ("1", "true", "ok", "pass")
            steps.append({"stepType": "ET_PFT", "name": name, "group": "M",
                          "status": "P" if ok else "F",
                          "booleanMeas": [{"status": "P" if ok else "F"}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "success", "report": {
            "type": "T", "pn": part, "sn": serial, "rev": "1", "processCode": process,
            "result": result, "start": datetime.now(timezone.utc).isoformat(),
            "root": {"stepType": "SequenceCall", "name": context.file_name, "status": result,
                     "seqCall": {"path": "ctx", "name": "ctx", "version": "1"},
                     "steps": steps}}}
