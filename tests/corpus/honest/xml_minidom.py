"""An older converter style: xml.dom.minidom and getElementsByTagName."""

from xml.dom import minidom


def _text(node, tag, default=""):
    found = node.getElementsByTagName(tag)
    if not found or not found[0].firstChild:
        return default
    return found[0].firstChild.data.strip()


class MinidomConverter:
    name = "MinidomConverter"
    file_patterns = ["*.xml"]

    def convert_file(self, file_path, args):
        dom = minidom.parseString(file_path.read_text(encoding="utf-8"))
        board = dom.getElementsByTagName("Board")[0]
        steps = []
        for step in dom.getElementsByTagName("Step"):
            kind = step.getAttribute("type")
            status = "P" if step.getAttribute("result") == "OK" else "F"
            entry = {"stepType": "ET_PFT" if kind == "bool" else "ET_SVT",
                     "name": step.getAttribute("name"), "group": "M", "status": status}
            if kind == "bool":
                entry["booleanMeas"] = [{"status": status}]
            else:
                entry["stringMeas"] = [{"status": status, "value": _text(step, "Read"),
                                        "compOp": "IGNORECASE",
                                        "limit": _text(step, "Expect")}]
            steps.append(entry)
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": _text(board, "Part"), "sn": _text(board, "Serial"),
            "rev": _text(board, "Rev", "1"), "processCode": 60, "result": result,
            "start": _text(board, "Time"),
            "root": {"stepType": "SequenceCall", "name": "Functional", "status": result,
                     "seqCall": {"path": "minidom", "name": "Functional", "version": "1"},
                     "steps": steps}}}
