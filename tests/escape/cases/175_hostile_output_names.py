# escape: output files with hostile names (dots, dashes, newlines, backslashes, non-UTF-8, 255 bytes)
# layer: host
# args: --skip-validation
# expect: completed status=Success
# expect: security
# expect: protocol
import os


class Converter:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR", "/output").encode()
        names = [b"...", b"-rf", b"a\nb", b"..\\..\\x", b"%2e%2e%2fx", b"\xff\xfe", b"n" * 255,
                 b" ", b".hidden", b"x;touch y"]
        made = 0
        for name in names:
            try:
                with open(out + b"/" + name, "wb") as f:
                    f.write(b"hostile name")
                made += 1
            except OSError:
                pass
        os.makedirs(out + b"/sub/..x/...", exist_ok=True)
        return {"status": "Success", "report": {"made": made}}
