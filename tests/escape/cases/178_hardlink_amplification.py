# escape: hardlink one 4 MiB output 64 times (256 MiB if the host copies each name) with --max-output 8
# layer: host, mount
# args: --skip-validation --max-output 8
# expect: completed status=Success
# expect: output_limit
# expect: security
# expect: protocol
import os


class Converter:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        first = os.path.join(out, "data.bin")
        with open(first, "wb") as f:
            f.write(b"\0" * (4 << 20))
        links = 0
        for i in range(64):
            try:
                os.link(first, os.path.join(out, f"copy{i:02d}.bin"))
                links += 1
            except OSError:
                break
        return {"status": "Success", "report": {"links": links}}
