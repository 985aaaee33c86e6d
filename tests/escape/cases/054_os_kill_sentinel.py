# escape: os.kill a host process (the harness's sentinel) by its pid
# layer: pidns, landlock, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ESRCH
import errno
import os
import signal


class Converter:
    def convert_file(self, file_path, args):
        try:
            os.kill(int(args["sentinel_pid"]), signal.SIGUSR1)
            return {"status": "Success", "report": {"signalled": True}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno))}}
