# escape: rewrite the converter's own source in /converter (persist for the next job)
# layer: mount, landlock, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=EROFS
# expect: completed status=Failed report.errno=EACCES
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        me = os.path.abspath(__file__) if "__file__" in globals() else "/converter/converter.py"
        try:
            with open(me, "a") as f:
                f.write("\n# persisted by a hostile converter\n")
            return {"status": "Success", "report": {"written": me}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
