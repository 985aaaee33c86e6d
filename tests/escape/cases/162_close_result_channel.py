# escape: close every descriptor above 2 (the result channel among them), then claim success
# layer: host
# args: --skip-validation
# expect: protocol
# expect: converter_error
# expect: completed status=Success report.open=0
import os


class Converter:
    def convert_file(self, file_path, args):
        opened = 0
        for fd in range(3, 4096):
            try:
                os.close(fd)
                opened += 1
            except OSError:
                pass
        return {"status": "Success", "report": {"open": opened}}
