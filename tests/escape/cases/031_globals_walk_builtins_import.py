# escape: reach __import__ through a function's __globals__['__builtins__'] and popen a shell
# layer: audit-hook, seccomp
# args: --skip-validation
# expect: security


def helper():
    return 0


class Converter:
    def convert_file(self, file_path, args):
        builtins = helper.__globals__["__builtins__"]
        imp = builtins["__import__"] if isinstance(builtins, dict) else builtins.__import__
        try:
            out = imp("o" + "s").popen(f"cat '{args['secret']}'").read()
            return {"status": "Success", "report": {"out": out}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
