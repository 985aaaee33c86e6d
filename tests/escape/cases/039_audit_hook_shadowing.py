# escape: add Python audit hooks that swallow events, then read the secret (a C hook cannot be removed)
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
import sys


class Converter:
    def convert_file(self, file_path, args):
        notes = []
        try:
            sys.addaudithook(lambda event, a: None)
            notes.append("hook added")
        except Exception as e:
            notes.append(repr(e))
        try:
            with open(args["secret"]) as f:
                return {"status": "Success", "report": {"notes": notes, "leak": f.read()}}
        except Exception as e:
            return {"status": "Failed", "report": {"notes": notes, "error": repr(e)}}
