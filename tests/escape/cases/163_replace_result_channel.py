# escape: dup2 a pipe of our own over every socket/pipe descriptor (steal the runner's result channel)
# layer: host
# args: --skip-validation
# expect: protocol
# expect: converter_error
# expect: completed status=Success report.replaced=0
import os
import stat


class Converter:
    def convert_file(self, file_path, args):
        replaced = 0
        for fd in range(3, 1024):
            try:
                mode = os.fstat(fd).st_mode
            except OSError:
                continue
            if stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode):
                r, w = os.pipe()
                os.dup2(w, fd)
                replaced += 1
        return {"status": "Success", "report": {"replaced": replaced}}
