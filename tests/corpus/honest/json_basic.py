"""JSON written by a LabVIEW station."""

import json


class JsonBasicConverter:
    name = "JsonBasicConverter"
    file_patterns = ["*.json"]

    def convert_file(self, file_path, args):
        try:
            data = json.loads(file_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            return {"status": "Failed", "error": f"line {exc.lineno}: {exc.msg}"}
        steps = []
        for item in data["measurements"]:
            ok = item["lo"] <= item["val"] <= item["hi"]
            steps.append({"stepType": "ET_NLT", "name": item["name"], "group": "M",
                          "status": "P" if ok else "F",
                          "numericMeas": [{"status": "P" if ok else "F", "value": item["val"],
                                           "unit": item.get("unit", ""), "compOp": "GELE",
                                           "lowLimit": item["lo"], "highLimit": item["hi"]}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": data["product"], "sn": data["serial"],
            "rev": str(data.get("revision", 1)), "processCode": data.get("process", 10),
            "result": result, "start": data["timestamp"],
            "root": {"stepType": "SequenceCall", "name": data.get("sequence", "Main"),
                     "status": result,
                     "seqCall": {"path": "labview", "name": data.get("sequence", "Main"),
                                 "version": data.get("version", "1")},
                     "steps": steps}}, "metadata": {"station": data.get("station")}}
