# escape: a child that ignores SIGTERM while the converter sleeps past the wall timeout
# layer: timeout, pidns
# xfail: every child process dies of SIGSYS before execve: the seccomp row "rt_sigaction [not replacing SIGSYS]" traps the SIG_DFL reset that posix_spawn, system() and _posixsubprocess do in the child while signals are blocked, so the kernel kills it (wait status 31); SHELL_EXECUTE cannot run anything
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
