"""A YAML-like `key: value` format with indentation, parsed by hand (no PyYAML)."""

import textwrap


def _parse(lines):
    root, stack = {}, [(-1, {})]
    stack[0] = (-1, root)
    for raw in lines:
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        key, _, value = raw.strip().partition(":")
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        if value.strip():
            parent[key] = value.strip().strip('"')
        else:
            parent[key] = {}
            stack.append((indent, parent[key]))
    return root


class YamlLikeConverter:
    name = "YamlLikeConverter"
    file_patterns = ["*.yml", "*.yaml"]

    def convert_file(self, file_path, args):
        doc = _parse(textwrap.dedent(file_path.read_text()).splitlines())
        steps = []
        for name, spec in doc["tests"].items():
            value, low, high = float(spec["value"]), float(spec["low"]), float(spec["high"])
            status = "P" if low <= value <= high else "F"
            steps.append({"stepType": "ET_NLT", "name": name, "group": "M", "status": status,
                          "numericMeas": [{"status": status, "value": value,
                                           "unit": spec.get("unit", ""), "compOp": "GELE",
                                           "lowLimit": low, "highLimit": high}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        uut = doc["uut"]
        return {"status": "Success", "report": {
            "type": "T", "pn": uut["pn"], "sn": uut["sn"], "rev": uut.get("rev", "1"),
            "processCode": int(uut.get("process", 10)), "result": result,
            "start": uut["start"],
            "root": {"stepType": "SequenceCall", "name": "YAML", "status": result,
                     "seqCall": {"path": "yml", "name": "YAML", "version": "1"},
                     "steps": steps}}}
