"""Namespaced XML (an ATML-like dialect) with nested sequences."""

from xml.etree import ElementTree

NS = {"tr": "urn:example:testresults:1.0"}


def _status(text):
    return {"passed": "P", "failed": "F", "done": "D", "error": "E"}.get(text.lower(), "E")


class NamespacedXmlConverter:
    name = "NamespacedXmlConverter"
    file_patterns = ["*.xml", "*.atml"]

    def convert_file(self, file_path, args):
        doc = ElementTree.fromstring(file_path.read_bytes())
        uut = doc.find("tr:UUT", NS)
        root = self._sequence(doc.find("tr:ResultSet", NS))
        return {"status": "Success", "report": {
            "type": "T", "pn": uut.findtext("tr:PartNumber", namespaces=NS),
            "sn": uut.findtext("tr:SerialNumber", namespaces=NS),
            "rev": uut.findtext("tr:Revision", default="1", namespaces=NS),
            "processCode": 10, "result": root["status"],
            "start": doc.get("startDateTime"), "root": root}}

    def _sequence(self, node):
        steps = []
        for child in node:
            tag = child.tag.split("}")[-1]
            if tag == "TestGroup":
                steps.append(self._sequence(child))
            elif tag == "Test":
                value = child.find("tr:Value", NS)
                status = _status(child.get("outcome"))
                steps.append({"stepType": "ET_NLT", "name": child.get("name"), "group": "M",
                              "status": status,
                              "numericMeas": [{"status": status, "value": float(value.text),
                                               "unit": value.get("unit", ""),
                                               "compOp": "LOG"}]})
        status = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"stepType": "SequenceCall", "name": node.get("name", "ResultSet"),
                "status": status,
                "seqCall": {"path": "atml", "name": node.get("name", "ResultSet"),
                            "version": "1"}, "steps": steps}
