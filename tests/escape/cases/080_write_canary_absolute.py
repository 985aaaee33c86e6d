# escape: write a file into the host's canary dir by absolute path
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null
import os


class Converter:
    def convert_file(self, file_path, args):
        try:
            with open(os.path.join(args["canary_dir"], "pwn"), "w") as f:
                f.write("written from the sandbox")
            return {"status": "Success", "report": {"written": True}}
        except OSError as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
