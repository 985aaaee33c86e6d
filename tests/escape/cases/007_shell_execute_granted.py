# escape: none; with SHELL_EXECUTE /bin/sh runs inside the same confinement
# layer: capability, seccomp
# xfail: SHELL_EXECUTE is granted but the default blocked_imports still vetoes `import subprocess` (validator and audit hook), so the capability cannot be used as granted
# caps: SHELL_EXECUTE
# args: --max-procs 8
# expect: completed status=Success report.out=hi report.rc=0
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        p = subprocess.run(["/bin/sh", "-c", "echo hi"], capture_output=True, text=True, timeout=5)
        return {"status": "Success", "report": {"out": p.stdout.strip(), "rc": p.returncode}}
