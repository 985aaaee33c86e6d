"""Writes output files into $CONVBOX_OUTPUT_DIR."""

import os


class OutputConverter:
    def convert_file(self, file_path, args):
        out = os.environ["CONVBOX_OUTPUT_DIR"]
        size = int(args.get("kb", 1024)) * 1024
        files = int(args.get("files", 1))
        written = 0
        for k in range(files):
            with open(os.path.join(out, "blob%d.bin" % k), "wb") as f:
                left = size
                while left > 0:
                    n = min(left, 256 * 1024)
                    f.write(b"z" * n)
                    left -= n
                    written += n
        return {"status": "Success", "report": {"written": written}}
