# escape: import ctypes (static validation, without --skip-validation)
# layer: validator
# expect: security error^="Converter validation failed:"

import ctypes


class Converter:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {"libc": repr(ctypes.CDLL(None))}}
