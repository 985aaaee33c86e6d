# escape: open the stdlib's os.py for writing (a planted change would run in every later job)
# layer: mount, landlock, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=EROFS
# expect: completed status=Failed report.errno=EACCES
import errno
import os


class Converter:
    def convert_file(self, file_path, args):
        # Opened and closed without writing: even on a broken sandbox nothing changes.
        try:
            fd = os.open(os.__file__, os.O_WRONLY | os.O_APPEND)
            os.close(fd)
            return {"status": "Success", "report": {"opened_for_write": os.__file__}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
