# escape: emit a debug record without LOG_DEBUG (it must be dropped; info still passes)
# layer: capability
# expect: completed status=Success
# no-log: escape-debug-record
# log: info escape-info-record
import logging


class Converter:
    def convert_file(self, file_path, args):
        log = logging.getLogger("converter")
        log.setLevel(logging.DEBUG)
        log.debug("escape-debug-record")
        log.info("escape-info-record")
        return {"status": "Success", "report": {}}
