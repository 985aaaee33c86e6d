# escape: a child that ignores SIGTERM while the converter sleeps past the wall timeout
# layer: timeout, pidns
# config: open-imports
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 8 --timeout 2
# expect: timeout
import os
import select
import subprocess
import time


class Converter:
    def convert_file(self, file_path, args):
        r, w = os.pipe()
        script = f"trap '' TERM HUP INT; printf up >&{w}; exec {w}>&-; while :; do sleep 1; done"
        subprocess.Popen(["/bin/sh", "-c", script, args["marker"]], start_new_session=True,
                         pass_fds=(w,))
        os.close(w)
        ready, _, _ = select.select([r], [], [], 1.5)
        if not (ready and os.read(r, 2) == b"up"):
            return {"status": "Failed", "report": {"up": False}}
        time.sleep(3600)
        return {"status": "Success", "report": {}}
