# escape: hardlink a file made in /output into the canary dir
# layer: landlock, mount, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOENT
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        src = os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "made.txt")
        try:
            with open(src, "w") as f:
                f.write("written from the sandbox")
            os.link(src, os.path.join(args["canary_dir"], "pwn"))
            return {"status": "Success", "report": {"linked": True}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
