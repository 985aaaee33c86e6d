# escape: flood /output with one big file past --max-output 8 (bounded to 256 MiB)
# layer: rlimit, mount
# args: --skip-validation --max-output 8
# expect: output_limit
import os


class Converter:
    def convert_file(self, file_path, args):
        chunk = b"\0" * (1 << 20)
        with open(os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "big.bin"), "wb") as f:
            for _ in range(256):
                f.write(chunk)
        return {"status": "Success", "report": {"wrote_mib": 256}}
