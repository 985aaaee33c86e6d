# escape: write into the canary dir through '..' from /output
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOENT
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        path = out + "/../../../../../.." + args["canary_dir"] + "/pwn"
        try:
            with open(path, "w") as f:
                f.write("written from the sandbox")
            return {"status": "Success", "report": {"written": True}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
