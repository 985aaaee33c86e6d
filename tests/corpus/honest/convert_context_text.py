"""convert(source, context) over a plain-text report with PASS/FAIL lines."""

from datetime import datetime


class ContextTextConverter:
    name = "ContextTextConverter"
    file_patterns = ["*.txt"]

    def convert(self, source, context):
        text = source.read_text(encoding="utf-8")
        lines = [line.rstrip() for line in text.splitlines()]
        serial = next(line.split(":", 1)[1].strip() for line in lines
                      if line.lower().startswith("serial"))
        stamp = next(line.split(":", 1)[1].strip() for line in lines
                     if line.lower().startswith("date"))
        steps = []
        for line in lines:
            if line.endswith((" PASS", " FAIL")):
                name, _, verdict = line.rpartition(" ")
                status = "P" if verdict == "PASS" else "F"
                steps.append({"stepType": "ET_PFT", "name": name.strip(" ."), "group": "M",
                              "status": status, "booleanMeas": [{"status": status}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        start = datetime.strptime(stamp, "%d/%m/%Y %H:%M").isoformat() + "+00:00"
        return {"status": "Success", "report": {
            "type": "T", "pn": context.args.get("part_number", "PN-TXT"), "sn": serial,
            "rev": "1", "processCode": 10, "result": result, "start": start,
            "root": {"stepType": "SequenceCall", "name": "Text", "status": result,
                     "seqCall": {"path": "txt", "name": "Text", "version": "1"},
                     "steps": steps}}}
