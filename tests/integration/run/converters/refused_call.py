"""Makes a system call the sandbox refuses (setsid): the refusal must reach the host,
which answers it (EPERM) and records it."""

import os


class RefusedCallConverter:
    def convert_file(self, file_path, args):
        try:
            os.setsid()
            outcome = "allowed"
        except OSError as e:
            outcome = e.errno
        return {"status": "Success", "report": {"setsid": outcome}}
