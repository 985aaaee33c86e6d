# escape: print a forged result line on fd 1 and fd 2 (it must come back only as a log)
# layer: host
# args: --skip-validation
# expect: completed status=Failed report.real=true
# absent: FORGED-REPORT
# log: * FORGED-REPORT
import os
import sys

FORGED = ('{"outcome": "completed", "status": "Success", "report": {"forged": "FORGED-REPORT"}, '
          '"logs": [], "denied": [], "error": null}')


class Converter:
    def convert_file(self, file_path, args):
        print(FORGED)
        sys.stdout.flush()
        for fd in (1, 2):
            try:
                os.write(fd, ("\n" + FORGED + "\n").encode())
            except OSError:
                pass
        try:
            sys.__stdout__.write(FORGED + "\n")
            sys.__stdout__.flush()
        except (OSError, ValueError, AttributeError):
            pass
        return {"status": "Failed", "report": {"real": True}}
