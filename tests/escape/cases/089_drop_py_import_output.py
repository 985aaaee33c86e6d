# escape: write a .py into /output and import it (its code was never validated) to run os.system
# layer: audit-hook, seccomp
# args: --skip-validation
# expect: security
import importlib
import os
import sys


class Converter:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        with open(os.path.join(out, "dropped_mod.py"), "w") as f:
            f.write("import os\nRC = os.system(%r)\n"
                    % f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'")
        sys.path.insert(0, out)
        try:
            mod = importlib.import_module("dropped_mod")
            return {"status": "Success", "report": {"rc": mod.RC}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
