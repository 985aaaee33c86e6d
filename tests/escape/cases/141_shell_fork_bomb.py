# escape: with SHELL_EXECUTE, a shell fork bomb (depth 5: 32 leaves if nothing stops it)
# layer: rlimit, pidns
# config: open-imports
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 16 --timeout 12
# expect: completed status=Success report.leaves<=16
# (how many leaves appear under the cap depends on scheduling: breadth can use up
# all 16 processes before any branch is 5 deep, so 0 is a correct result too;
# more than 16 would mean the cap failed. Case 007 shows SHELL_EXECUTE works.)
import os
import select
import subprocess
import time


class Converter:
    def convert_file(self, file_path, args):
        r, w = os.pipe()
        leaf = f"printf x >&{w}; sleep 30; return"
        bomb = f'b(){{ [ "$1" -gt 0 ] || {{ {leaf}; }}; b $(($1-1)) & b $(($1-1)) & wait; }}; b 5'
        subprocess.Popen(["/bin/sh", "-c", bomb, args["marker"]], pass_fds=(w,),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        select.select([r], [], [], 8)  # the first leaf, however loaded the machine is
        time.sleep(1.5)  # then give the rest of the tree its chance
        os.set_blocking(r, False)
        try:
            leaves = len(os.read(r, 4096))
        except BlockingIOError:
            leaves = 0
        return {"status": "Success", "report": {"leaves": leaves}}
