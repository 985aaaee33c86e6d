# escape: seek 512 MiB into a file in /output and write one byte (RLIMIT_FSIZE / size cap)
# layer: rlimit, mount
# args: --skip-validation --max-output 8
# expect: output_limit
import os


class Converter:
    def convert_file(self, file_path, args):
        with open(os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "sparse.bin"), "wb") as f:
            f.seek(512 << 20)
            f.write(b"x")
        return {"status": "Success", "report": {"size": 512 << 20}}
