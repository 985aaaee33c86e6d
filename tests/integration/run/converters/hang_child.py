"""Starts a child that ignores SIGTERM and sleeps, then sleeps itself.

The child leaves the process group when it may, and execs /bin/sleep with
argv[0] set to the marker the test passes, so the test can find it in /proc.
"""

import os
import signal
import time


class HangConverter:
    def convert_file(self, file_path, args):
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()  # out of the converter's process group, if allowed
            except OSError:
                pass
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.execv("/bin/sleep", [args["marker"], "600"])
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
        return {"status": "Success", "report": {"child": pid}}
