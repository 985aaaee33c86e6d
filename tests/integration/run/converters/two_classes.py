"""Two converter classes in one module."""


class FirstConverter:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {"by": "FirstConverter"}}


class SecondConverter:
    def convert(self, source, context):
        return {"status": "Success", "report": {"by": "SecondConverter"}}


class Helper:
    def parse(self, text):
        return text
