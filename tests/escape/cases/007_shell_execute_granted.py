# escape: none; with SHELL_EXECUTE /bin/sh runs inside the same confinement
# layer: capability, seccomp
# caps: SHELL_EXECUTE
# args: --max-procs 8
# expect: completed status=Success report.out=hi report.rc=0
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        p = subprocess.run(["/bin/sh", "-c", "echo hi"], capture_output=True, text=True, timeout=5)
        return {"status": "Success", "report": {"out": p.stdout.strip(), "rc": p.returncode}}
