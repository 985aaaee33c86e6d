"""Results stored as an INI file: one section per test."""

import configparser


class IniResultConverter:
    name = "IniResultConverter"
    file_patterns = ["*.ini", "*.res"]

    def convert_file(self, file_path, args):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(file_path.read_text(encoding="utf-8"))
        uut = parser["UUT"]
        steps = []
        for section in parser.sections():
            if not section.startswith("Test:"):
                continue
            test = parser[section]
            value = test.getfloat("value")
            low, high = test.getfloat("low"), test.getfloat("high")
            status = "P" if low <= value <= high else "F"
            steps.append({"stepType": "ET_NLT", "name": section[5:].strip(), "group": "M",
                          "status": status,
                          "numericMeas": [{"status": status, "value": value,
                                           "unit": test.get("unit", ""), "compOp": "GELE",
                                           "lowLimit": low, "highLimit": high}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": uut["part"], "sn": uut["serial"], "rev": uut.get("rev", "1"),
            "processCode": uut.getint("process", 10), "result": result,
            "start": uut["start"],
            "root": {"stepType": "SequenceCall", "name": "INI", "status": result,
                     "seqCall": {"path": "ini", "name": "INI", "version": "1"},
                     "steps": steps}}}
