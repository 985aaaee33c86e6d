# escape: flood /output with tiny files to exhaust inodes (bounded to 50000)
# layer: mount
# args: --skip-validation --max-output 8
# expect: output_limit
import os


class Converter:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        for i in range(50000):
            with open(os.path.join(out, f"f{i:05d}"), "wb") as f:
                f.write(b"x")
        return {"status": "Success", "report": {"files": 50000}}
