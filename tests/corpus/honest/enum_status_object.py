"""Object form with a plain class result, an IntEnum priority and a Flag set."""

import json
from enum import Enum, Flag, IntEnum, auto


class Status(Enum):
    SUCCESS = "Success"
    FAILED = "Failed"


class Priority(IntEnum):
    HIGH = 1
    NORMAL = 5
    LOW = 10


class Checks(Flag):
    NONE = 0
    SERIAL = auto()
    LIMITS = auto()


class Result:
    def __init__(self, status, report=None, error=None, metadata=None):
        self.status = status
        self.report = report
        self.error = error
        self.metadata = metadata or {}
        self.post_action = "keep"

    def __repr__(self):
        return f"Result({self.status.name})"


class EnumStatusConverter:
    name = "EnumStatusConverter"
    file_patterns = ["*.json"]
    priority = Priority.HIGH

    def convert_file(self, file_path, args):
        data = json.loads(file_path.read_text())
        done = Checks.NONE
        if data.get("sn"):
            done |= Checks.SERIAL
        steps = []
        for name, spec in sorted(data["tests"].items()):
            ok = spec["min"] <= spec["reading"] <= spec["max"]
            steps.append({"stepType": "ET_NLT", "name": name, "group": "M",
                          "status": "P" if ok else "F",
                          "numericMeas": [{"status": "P" if ok else "F",
                                           "value": spec["reading"], "unit": spec["unit"],
                                           "compOp": "GELE", "lowLimit": spec["min"],
                                           "highLimit": spec["max"]}]})
        done |= Checks.LIMITS
        if Checks.SERIAL not in done:
            return Result(Status.FAILED, error="no serial number")
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        report = {"type": "T", "pn": data["pn"], "sn": data["sn"], "rev": data["rev"],
                  "processCode": int(self.priority) * 10, "result": result,
                  "start": data["when"],
                  "root": {"stepType": "SequenceCall", "name": "Enum", "status": result,
                           "seqCall": {"path": "enum", "name": "Enum", "version": "1"},
                           "steps": steps}}
        return Result(Status.SUCCESS, report=report, metadata={"checks": str(done)})
