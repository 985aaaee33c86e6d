"""Large XML logs streamed with iterparse, elements cleared as they go."""

import xml.etree.ElementTree as ET


class IterparseConverter:
    name = "IterparseConverter"
    file_patterns = ["*.xml"]
    priority = 3

    def convert_file(self, file_path, args):
        header, steps = {}, []
        with open(file_path, "rb") as handle:
            for event, elem in ET.iterparse(handle, events=("end",)):
                if elem.tag in ("serial", "part", "rev", "started"):
                    header[elem.tag] = (elem.text or "").strip()
                elif elem.tag == "measurement":
                    steps.append(self._step(elem))
                    elem.clear()
        limit = int(args.get("max_steps", 10000))
        if len(steps) > limit:
            return {"status": "Failed", "error": f"{len(steps)} steps, limit {limit}"}
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": header["part"], "sn": header["serial"],
            "rev": header.get("rev", "1"), "processCode": 50, "result": result,
            "start": header["started"],
            "root": {"stepType": "SequenceCall", "name": "Stream", "status": result,
                     "seqCall": {"path": "stream", "name": "Stream", "version": "1"},
                     "steps": steps}}}

    @staticmethod
    def _step(elem):
        ok = elem.get("pass") == "1"
        return {"stepType": "ET_PFT", "name": elem.get("id"), "group": "M",
                "status": "P" if ok else "F",
                "booleanMeas": [{"status": "P" if ok else "F"}]}
