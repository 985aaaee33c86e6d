# escape: sys.modules['posix'].system, the C module behind os
# layer: audit-hook, seccomp
# args: --skip-validation
# expect: security
import sys


class Converter:
    def convert_file(self, file_path, args):
        try:
            rc = sys.modules["posix"].system(f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'")
            return {"status": "Success", "report": {"rc": rc}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
