# escape: plant a symlink to the secret in the private /tmp (FILE_TEMP), then read through it
# layer: landlock, mount, audit-hook
# caps: FILE_TEMP
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOENT
import errno
import os
import tempfile


class Converter:
    def convert_file(self, file_path, args):
        link = os.path.join(tempfile.gettempdir(), "escape-link")
        try:
            os.symlink(args["secret"], link)
            with open(link) as f:
                return {"status": "Success", "report": {"leak": f.read()}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
