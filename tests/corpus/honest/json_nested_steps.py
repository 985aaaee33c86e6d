"""JSON with nested groups, turned into nested SequenceCall steps."""

import json

STATUS = {True: "P", False: "F"}


class NestedJsonConverter:
    name = "NestedJsonConverter"
    file_patterns = ["*.json"]

    def convert_file(self, file_path, args):
        data = json.loads(file_path.read_bytes())
        root = self._group(data["root"])
        info = data["uut"]
        return {"status": "Success", "report": {
            "type": "T", "pn": info["pn"], "sn": info["sn"], "rev": info["rev"],
            "processCode": int(info["process"]), "result": root["status"],
            "start": data["start"], "root": root,
            "miscInfos": [{"description": k, "text": str(v)}
                          for k, v in sorted(data.get("extra", {}).items())]}}

    def _group(self, node, depth=0):
        if depth > 20:
            raise ValueError("groups nested too deeply")
        steps = []
        for child in node.get("children", []):
            if "children" in child:
                steps.append(self._group(child, depth + 1))
            elif "expect" in child:
                ok = str(child["value"]) == str(child["expect"])
                steps.append({"stepType": "ET_SVT", "name": child["name"], "group": "M",
                              "status": STATUS[ok],
                              "stringMeas": [{"status": STATUS[ok], "value": str(child["value"]),
                                              "compOp": "CASESENSIT",
                                              "limit": str(child["expect"])}]})
            else:
                ok = bool(child["value"])
                steps.append({"stepType": "ET_PFT", "name": child["name"], "group": "M",
                              "status": STATUS[ok], "booleanMeas": [{"status": STATUS[ok]}]})
        status = STATUS[all(s["status"] == "P" for s in steps)]
        return {"stepType": "SequenceCall", "name": node["name"], "status": status,
                "seqCall": {"path": "nested", "name": node["name"], "version": "1"},
                "steps": steps}
