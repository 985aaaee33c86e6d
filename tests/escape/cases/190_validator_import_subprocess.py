# escape: import subprocess (static validation, without --skip-validation)
# layer: validator
# expect: security error^="Converter validation failed:"

import subprocess


class Converter:
    def convert_file(self, file_path, args):
        subprocess.run(["/bin/sh", "-c", "cat '%s' > '%s/pwn'" % (args["secret"], args["canary_dir"])])
        return {"status": "Success", "report": {}}
