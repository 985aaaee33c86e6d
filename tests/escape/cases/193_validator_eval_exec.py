# escape: eval() and exec() of a string (static validation, without --skip-validation)
# layer: validator
# expect: security error^="Converter validation failed:"


class Converter:
    def convert_file(self, file_path, args):
        exec("import os")
        return {"status": "Success", "report": {"x": eval("1 + 1")}}
