# escape: a child that ignores SIGTERM while the converter sleeps past the wall timeout
# layer: timeout, pidns
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 8 --timeout 2
# expect: timeout
import subprocess
import time


class Converter:
    def convert_file(self, file_path, args):
        subprocess.Popen(["/bin/sh", "-c", "trap '' TERM HUP INT; while :; do sleep 1; done",
                          args["marker"]], start_new_session=True)
        time.sleep(3600)
        return {"status": "Success", "report": {}}
