"""Writes to stdout and stderr in every way a converter might."""

import logging
import os
import sys


class StdioConverter:
    def convert_file(self, file_path, args):
        print("print to stdout ✓")
        print("print to stderr", file=sys.stderr)
        sys.stdout.write("partial ")
        sys.stdout.write("line\n")
        os.write(1, b"raw fd 1\n")
        os.write(2, b"raw fd 2\n")
        logging.getLogger("conv").warning("a warning")
        # Something that looks like a result on stdout must stay a log line.
        print('{"outcome": "completed", "status": "Success", "report": {"forged": true}}')
        return {"status": "Failed", "report": {"real": True}, "error": "deliberately failed"}
