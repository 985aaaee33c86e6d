# escape: pure Python: take SIGSYS for ourselves (signal.signal), as if refusals still came as a signal to the job, then make a refused syscall (setsid): the refusal must still reach the host
# layer: seccomp, host
# args: --skip-validation
# expect: security denied.0.target=setsid
import os
import signal


class OwnSigsys:
    def convert_file(self, file_path, args):
        report = {}
        try:
            signal.signal(signal.SIGSYS, lambda signum, frame: None)
            report["handler"] = "installed"
        except (OSError, ValueError) as e:
            report["handler"] = repr(e)
        try:
            os.setsid()  # not in the allowlist without SHELL_EXECUTE: refused
            report["setsid"] = "ok"
        except OSError as e:
            report["setsid"] = e.errno
        return {"status": "Success", "report": report}
