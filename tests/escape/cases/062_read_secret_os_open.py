# escape: read the station secret with os.open/os.read
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null

import os


class Converter:
    def convert_file(self, file_path, args):
        try:
            fd = os.open(args["secret"], os.O_RDONLY)
            return {"status": "Success", "report": {"leak": os.read(fd, 4096).decode()}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
