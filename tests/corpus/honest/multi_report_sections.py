"""One text file, several UUTs separated by `=== UUT <serial> ===` lines."""

import re
from datetime import datetime, timedelta, timezone

SECTION = re.compile(r"^=== UUT (\S+) ===$", re.MULTILINE)


class SectionedTextConverter:
    name = "SectionedTextConverter"
    file_patterns = ["*.txt", "*.rpt"]

    def convert_file(self, file_path, args):
        text = file_path.read_text()
        parts = SECTION.split(text)
        preamble, sections = parts[0], list(zip(parts[1::2], parts[2::2]))
        fields = dict(re.findall(r"^(\w+):\s*(.+)$", preamble, re.MULTILINE))
        start = datetime.fromisoformat(fields["started"])
        reports = []
        for index, (serial, body) in enumerate(sections):
            steps = []
            for name, value in re.findall(r"^\s*(\w[\w ]*?)\s*=\s*(\S+)\s*$", body,
                                          re.MULTILINE):
                steps.append({"stepType": "ET_SVT", "name": name, "group": "M",
                              "status": "P",
                              "stringMeas": [{"status": "P", "value": value,
                                              "compOp": "LOG", "limit": ""}]})
            reports.append({
                "type": "T", "pn": fields["part"], "sn": serial, "rev": fields.get("rev", "1"),
                "processCode": 10, "result": "P",
                "start": (start + timedelta(minutes=index)).astimezone(timezone.utc).isoformat(),
                "root": {"stepType": "SequenceCall", "name": "Section", "status": "P",
                         "seqCall": {"path": "rpt", "name": "Section", "version": "1"},
                         "steps": steps}})
        if not reports:
            return {"status": "Failed", "error": "no UUT sections"}
        return {"status": "Success", "reports": reports}
