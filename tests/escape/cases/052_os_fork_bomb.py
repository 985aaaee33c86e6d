# escape: fork bomb with os.fork (bounded to 64 children, each sleeping)
# layer: audit-hook, seccomp, rlimit, pidns
# args: --skip-validation --max-procs 4
# expect: security
import os
import time


class Converter:
    def convert_file(self, file_path, args):
        forks = 0
        errors = []
        for _ in range(64):
            try:
                pid = os.fork()
            except Exception as e:
                errors.append(repr(e))
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            forks += 1
        return {"status": "Success", "report": {"forks": forks, "errors": errors[:3]}}
