# escape: fetch eval from __builtins__ by a computed name and run a hidden os.system
# layer: audit-hook, seccomp
# args: --skip-validation
# expect: security


class Converter:
    def convert_file(self, file_path, args):
        b = __builtins__ if isinstance(__builtins__, dict) else vars(__builtins__)
        ev = b["ev" + "al"]
        src = "__import__('o'+'s').system(cmd)"
        try:
            rc = ev(src, {"__builtins__": b, "cmd": f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'"})
            return {"status": "Success", "report": {"rc": rc}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
