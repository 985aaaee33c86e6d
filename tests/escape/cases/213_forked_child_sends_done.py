# escape: pure Python: a forked child returns Success, so that the glue runs in the child and sends a real DONE (the tally page is shared); the job itself then hides a denial by swapping its channel for /dev/null
# layer: host, audit-hook
# (only the job's own process, init of its pid namespace, may send the job's DONE: the child's ends quietly, and the job's tampering is seen)
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 4 --arg mode=tamper
# expect: security "denied~=result channel (fd 3)"
import os
import time


class Converter:
    def convert_file(self, file_path, args):
        pid = os.fork()
        if pid == 0:
            return {"status": "Success", "report": {"who": "child"}}
        os.waitpid(pid, 0)
        time.sleep(0.2)
        fd = os.open("/dev/null", os.O_WRONLY)
        os.dup2(fd, 3)  # swap the channel, then an action the audit hook denies
        try:
            open("/etc/passwd", "a")
        except Exception:
            pass
        return {"status": "Success", "report": {"who": "parent"}}
