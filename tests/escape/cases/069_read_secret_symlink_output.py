# escape: plant a symlink to the secret in /output, then read through it
# layer: landlock, mount, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOENT
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        link = os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "link")
        try:
            os.symlink(args["secret"], link)
            with open(link) as f:
                return {"status": "Success", "report": {"leak": f.read()}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
