# escape: with SHELL_EXECUTE, double-fork a setsid daemon that ignores SIGTERM/SIGHUP and return at once
# layer: pidns
# config: open-imports
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 8
# expect: completed status=Success report.up=true
import os
import select
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        r, w = os.pipe()
        daemon = (f"(trap '' TERM HUP INT; printf up >&{w}; exec {w}>&-; "
                  "while :; do sleep 1; done) </dev/null >/dev/null 2>&1 &")
        subprocess.run(["/bin/sh", "-c", daemon, args["marker"]], start_new_session=True,
                       pass_fds=(w,), timeout=5)
        os.close(w)
        ready, _, _ = select.select([r], [], [], 3)
        up = bool(ready) and os.read(r, 2) == b"up"
        return {"status": "Success", "report": {"up": up}}
