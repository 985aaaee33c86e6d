# escape: read the station secret with io.FileIO
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null

import io


class Converter:
    def convert_file(self, file_path, args):
        try:
            with io.FileIO(args["secret"]) as f:
                return {"status": "Success", "report": {"leak": f.read().decode()}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
