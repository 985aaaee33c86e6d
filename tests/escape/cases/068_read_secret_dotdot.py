# escape: read the station secret through '..' from the input folder
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOENT
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        path = os.path.dirname(str(file_path)) + "/../../../../../.." + args["secret"]
        try:
            with open(path) as f:
                return {"status": "Success", "report": {"leak": f.read()}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
