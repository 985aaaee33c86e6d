# escape: log at every level (and print) when only LOG_ERROR is granted
# layer: capability
# args: --no-default-caps --cap READ_INPUT --cap LOG_ERROR
# expect: completed status=Success
# log: error escape-error-record
# no-log: escape-info-record
# no-log: escape-warning-record
# no-log: escape-print-record
import logging


class Converter:
    def convert_file(self, file_path, args):
        log = logging.getLogger("converter")
        log.setLevel(logging.DEBUG)
        log.info("escape-info-record")
        log.warning("escape-warning-record")
        log.error("escape-error-record")
        print("escape-print-record")
        return {"status": "Success", "report": {}}
