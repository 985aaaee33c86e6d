# escape: none; with LOG_DEBUG a debug record comes back in the result's logs
# layer: capability
# caps: LOG_DEBUG
# expect: completed status=Success
# log: debug escape-debug-record
import logging


class Converter:
    def convert_file(self, file_path, args):
        log = logging.getLogger("converter")
        log.setLevel(logging.DEBUG)
        log.debug("escape-debug-record")
        return {"status": "Success", "report": {}}
