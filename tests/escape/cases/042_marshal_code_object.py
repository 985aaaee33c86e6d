# escape: smuggle code through marshal.loads and run it as a function that reads the secret
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
import marshal
import types


class Converter:
    def convert_file(self, file_path, args):
        blob = marshal.dumps(compile("open(p).read()", "<blob>", "eval"))
        try:
            code = marshal.loads(blob)
            fn = types.FunctionType(code, {"p": args["secret"], "__builtins__": __builtins__})
            return {"status": "Success", "report": {"leak": fn()}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
