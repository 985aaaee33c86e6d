# escape: dump the converter's environment (the host's environment holds a token)
# layer: host
# args: --skip-validation
# expect: completed status=Success
import os


class Converter:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {"env": dict(os.environ)}}
