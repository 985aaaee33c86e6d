# escape: none; with FILE_TEMP the converter gets a private, working /tmp
# layer: capability, mount
# caps: FILE_TEMP
# expect: completed status=Success report.tmpdir=/tmp report.roundtrip=true
import os
import tempfile


class Converter:
    def convert_file(self, file_path, args):
        with tempfile.NamedTemporaryFile("w+", suffix=".txt") as f:
            f.write("scratch")
            f.flush()
            f.seek(0)
            roundtrip = f.read() == "scratch"
        scratch = tempfile.mkdtemp()
        with open(os.path.join(scratch, "a.txt"), "w") as f:
            f.write("x")
        return {"status": "Success",
                "report": {"tmpdir": tempfile.gettempdir(), "roundtrip": roundtrip}}
