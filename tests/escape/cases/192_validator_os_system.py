# escape: os.system (static validation, without --skip-validation)
# layer: validator
# expect: security error^="Converter validation failed:"

import os


class Converter:
    def convert_file(self, file_path, args):
        os.system("cat \"%s\" > \"%s/pwn\"" % (args["secret"], args["canary_dir"]))
        return {"status": "Success", "report": {}}
