# escape: replace the converter with a shell through sys.modules['os'].execv
# layer: audit-hook, seccomp
# args: --skip-validation
# expect: security
import sys


class Converter:
    def convert_file(self, file_path, args):
        os_mod = sys.modules["os"]
        try:
            os_mod.execv("/bin/sh", ["sh", "-c", f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'"])
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
        return {"status": "Success", "report": {}}
