# escape: import _testcapi (native code inside the interpreter) at run time
# layer: audit-hook
# args: --skip-validation
# expect: security
import importlib


class Converter:
    def convert_file(self, file_path, args):
        try:
            mod = importlib.import_module("_testcapi")
            return {"status": "Success", "report": {"imported": repr(mod)}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
