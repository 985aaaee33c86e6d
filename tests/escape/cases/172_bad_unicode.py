# escape: lone surrogates and invalid UTF-8 in the report, the error, a log and raw stdout
# layer: host
# args: --skip-validation
# expect: completed status=Success
# expect: converter_error
# expect: protocol
import logging
import os


class Converter:
    def convert_file(self, file_path, args):
        logging.getLogger("converter").warning("bad \udcff log \ud800")
        os.write(1, b"raw \xff\xfe\xc0\x80 bytes\n")
        bad = b"\xff\xfe invalid".decode("utf-8", "surrogateescape")
        return {"status": "Success", "error": "\ud800",
                "report": {"lone": "\ud800", "escaped": bad, "\udcff": "key"}}
