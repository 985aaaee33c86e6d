# escape: read the station secret with pathlib.Path.read_text
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null

from pathlib import Path


class Converter:
    def convert_file(self, file_path, args):
        try:
            return {"status": "Success", "report": {"leak": Path(args["secret"]).read_text()}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
