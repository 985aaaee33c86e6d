"""Makes a system call the sandbox refuses (setsid): the refusal must reach the host,
which answers it (EPERM) and records it. Prints how long the answer took, then
sleeps `sleep` seconds (0 by default)."""

import os
import time


class RefusedCallConverter:
    def convert_file(self, file_path, args):
        start = time.monotonic()
        try:
            os.setsid()
            outcome = "allowed"
        except OSError as e:
            outcome = e.errno
        print("setsid answered after %.3f s" % (time.monotonic() - start))
        time.sleep(float(args.get("sleep", 0)))
        return {"status": "Success", "report": {"setsid": outcome}}
