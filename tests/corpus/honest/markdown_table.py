"""A Markdown test summary (pipe tables) written by a script on the bench."""

import re
from datetime import datetime, timezone

ROW = re.compile(r"^\|(.+)\|\s*$")


class MarkdownTableConverter:
    name = "MarkdownTableConverter"
    file_patterns = ["*.md"]

    def convert_file(self, file_path, args):
        lines = file_path.read_text(encoding="utf-8").splitlines()
        title = next((l[2:].strip() for l in lines if l.startswith("# ")), "untitled")
        cells = [[c.strip() for c in m.group(1).split("|")]
                 for m in map(ROW.match, lines) if m]
        header, body = cells[0], [r for r in cells[1:] if not set("".join(r)) <= set("-: ")]
        steps = []
        for row in body:
            rec = dict(zip(header, row))
            status = "P" if rec["Result"] in ("✅", "pass") else "F"
            steps.append({"stepType": "ET_PFT", "name": rec["Test"], "group": "M",
                          "status": status, "booleanMeas": [{"status": status}]})
        serial = title.split()[-1]
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": args.get("pn", "PN-MD"), "sn": serial, "rev": "1",
            "processCode": 10, "result": result,
            "start": datetime(2024, 2, 2, 2, 2, 2, tzinfo=timezone.utc).isoformat(),
            "root": {"stepType": "SequenceCall", "name": title, "status": result,
                     "seqCall": {"path": "md", "name": "Markdown", "version": "1"},
                     "steps": steps}}}
