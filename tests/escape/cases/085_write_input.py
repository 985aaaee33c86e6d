# escape: overwrite the input file (read-only) and change its mode
# layer: mount, landlock, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=EROFS
# expect: completed status=Failed report.errno=EACCES
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        try:
            os.chmod(file_path, 0o666)
        except OSError:
            pass
        try:
            with open(file_path, "r+") as f:
                f.write("tampered")
            return {"status": "Success", "report": {"written": True}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
