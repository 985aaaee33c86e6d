# escape: read the secret with sys.modules['posix'].open/read, below os and io
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null
import sys


class Converter:
    def convert_file(self, file_path, args):
        posix = sys.modules["posix"]
        try:
            fd = posix.open(args["secret"], posix.O_RDONLY)
            return {"status": "Success", "report": {"leak": posix.read(fd, 4096).decode()}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
