# escape: create a temp file without FILE_TEMP
# layer: capability, audit-hook, mount
# args: --skip-validation
# expect: security
# denied-capability: FILE_TEMP
import os
import tempfile


class Converter:
    def convert_file(self, file_path, args):
        got = {}
        try:
            with open(os.path.join(tempfile.gettempdir(), "escape-temp.txt"), "w") as f:
                f.write("x")
            got["open"] = "written"
        except OSError as e:
            got["open"] = repr(e)
        try:
            fd, path = tempfile.mkstemp()
            got["mkstemp"] = path
        except Exception as e:
            got["mkstemp"] = repr(e)
        return {"status": "Success", "report": got}
