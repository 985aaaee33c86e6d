# escape: make /output/door a symlink to the canary dir and write through it
# layer: landlock, mount, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOENT
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        door = os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "door")
        try:
            os.symlink(args["canary_dir"], door)
            with open(os.path.join(door, "pwn"), "w") as f:
                f.write("written from the sandbox")
            return {"status": "Success", "report": {"written": True}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
