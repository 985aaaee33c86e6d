"""Tab-separated results read with pathlib only: no csv module."""

from datetime import datetime, timezone
from pathlib import Path


class TsvConverter:
    name = "TsvConverter"
    file_patterns = ["*.tsv"]

    def convert_file(self, file_path: Path, args: dict):
        raw = [line.split("\t") for line in file_path.read_text().splitlines() if line.strip()]
        head, body = raw[0], raw[1:]
        index = {name: i for i, name in enumerate(head)}
        steps = []
        for cells in body:
            measured = cells[index["measured"]]
            expected = cells[index["expected"]]
            ok = measured == expected
            steps.append({"stepType": "ET_SVT", "name": cells[index["check"]], "group": "M",
                          "status": "P" if ok else "F",
                          "stringMeas": [{"status": "P" if ok else "F", "value": measured,
                                          "compOp": "CASESENSIT", "limit": expected}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        return {"status": "Success", "report": {
            "type": "T", "pn": args.get("pn", "TSV-PART"), "sn": file_path.stem.upper(),
            "rev": "1", "processCode": 40, "result": result, "start": stamp,
            "root": {"stepType": "SequenceCall", "name": "Strings", "status": result,
                     "seqCall": {"path": "tsv", "name": "Strings", "version": "1"},
                     "steps": steps}}}
