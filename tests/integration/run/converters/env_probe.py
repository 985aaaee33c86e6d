"""Reports where it runs: input path, output folder, temp folder (when asked)."""

import os
import pathlib
import sys
import tempfile
import time


class EnvProbe:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR")
        report = {
            "path": str(file_path),
            "is_path": isinstance(file_path, pathlib.PurePath),
            "name": file_path.name,
            "text": file_path.read_text(encoding="utf-8"),
            "output_dir": out,
        }
        if args.get("write"):
            pathlib.Path(out, "probe.txt").write_text("written by probe", encoding="utf-8")
        if args.get("temp"):
            tmp = tempfile.gettempdir()
            with tempfile.NamedTemporaryFile("w", delete=True) as f:
                f.write("scratch")
                report["temp_file_in"] = os.path.dirname(f.name) == tmp
            report["temp_dir"] = tmp
        if args.get("alloc_mb"):
            report["allocated"] = len(bytearray(int(args["alloc_mb"]) << 20))
        if args.get("sleep"):
            time.sleep(float(args["sleep"]))
        if args.get("stderr"):
            print("to stdout")
            print("to stderr", file=sys.stderr)
        return {"status": "Success", "report": report}
