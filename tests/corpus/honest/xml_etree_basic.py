"""XML test results parsed with xml.etree.ElementTree."""

import xml.etree.ElementTree as ET
from datetime import datetime


class XmlEtreeConverter:
    name = "XmlEtreeConverter"
    file_patterns = ["*.xml"]

    def convert_file(self, file_path, args):
        try:
            root = ET.parse(str(file_path)).getroot()
        except ET.ParseError as exc:
            return {"status": "Failed", "error": f"bad XML: {exc}"}
        uut = root.find("uut")
        steps = []
        for test in root.iter("test"):
            value = float(test.get("value"))
            low, high = float(test.get("min")), float(test.get("max"))
            status = "P" if low <= value <= high else "F"
            steps.append({"stepType": "ET_NLT", "name": test.get("name"), "group": "M",
                          "status": status,
                          "numericMeas": [{"status": status, "value": value,
                                           "unit": test.get("unit", ""), "compOp": "GELE",
                                           "lowLimit": low, "highLimit": high}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        start = datetime.fromisoformat(root.get("started"))
        return {"status": "Success", "report": {
            "type": "T", "pn": uut.get("part"), "sn": uut.get("serial"),
            "rev": uut.get("revision", "1"), "processCode": int(root.get("process", "10")),
            "result": result, "start": start.isoformat(),
            "root": {"stepType": "SequenceCall", "name": root.get("sequence", "Main"),
                     "status": result,
                     "seqCall": {"path": file_path.name, "name": root.get("sequence", "Main"),
                                 "version": root.get("version", "1")},
                     "steps": steps}}, "metadata": {"tests": len(steps)}}
