"""A converter whose class is split into many small methods (the reference
suite's "100 methods" case, as real code would grow)."""

import json


class ManyMethodsConverter:
    name = "ManyMethodsConverter"
    file_patterns = ["*.json"]

    def convert_file(self, file_path, args):
        data = json.loads(file_path.read_text())
        steps = [self.step(name, value) for name, value in data["checks"].items()]
        return {"status": "Success", "report": self.report(data, steps)}

    def report(self, data, steps):
        return {"type": self.kind(), "pn": self.part(data), "sn": self.serial(data),
                "rev": self.revision(data), "processCode": self.process(data),
                "result": self.result(steps), "start": self.start(data),
                "root": self.root(steps)}

    def kind(self):
        return "T"

    def part(self, data):
        return data["pn"]

    def serial(self, data):
        return data["sn"]

    def revision(self, data):
        return data.get("rev", "1")

    def process(self, data):
        return int(data.get("process", 10))

    def start(self, data):
        return data["start"]

    def result(self, steps):
        return "P" if all(self.passed(s) for s in steps) else "F"

    def passed(self, step):
        return step["status"] == "P"

    def root(self, steps):
        return {"stepType": "SequenceCall", "name": self.sequence_name(),
                "status": self.result(steps), "seqCall": self.seq_call(), "steps": steps}

    def sequence_name(self):
        return "Methods"

    def seq_call(self):
        return {"path": "methods", "name": self.sequence_name(), "version": self.version()}

    def version(self):
        return "1"

    def step(self, name, value):
        status = self.status_of(value)
        return {"stepType": "ET_PFT", "name": name, "group": self.group(), "status": status,
                "booleanMeas": [{"status": status}]}

    def group(self):
        return "M"

    def status_of(self, value):
        return "P" if value else "F"
