"""Writes two files into the output folder named by CONVBOX_OUTPUT_DIR."""

import os
import pathlib


class OutputWriter:
    def convert_file(self, file_path, args):
        out = pathlib.Path(os.environ["CONVBOX_OUTPUT_DIR"])
        text = file_path.read_text(encoding="utf-8")
        (out / "summary.txt").write_text("summary of %s: %s" % (file_path.name, text),
                                         encoding="utf-8")
        (out / "data.bin").write_bytes(bytes(range(256)) + text.encode("utf-8"))
        return {"status": "Success", "report": {"sn": text.strip()}}
