"""Writes bytes that are not UTF-8 to stderr, or one 3 MiB line to stdout, then
raises or returns."""

import os


class BadBytesConverter:
    def convert_file(self, file_path, args):
        if args.get("mode") == "long_line":
            print("L" * (3 * 1024 * 1024))
            return {"status": "Success", "report": {"printed": 3 * 1024 * 1024}}
        os.write(2, b"before \xff\xfe\xc3 after\n")
        os.write(1, b"plain line\n")
        if args.get("mode") == "raise":
            raise KeyError("missing column")
        return {"status": "Success", "report": {"wrote": "bytes"}}
