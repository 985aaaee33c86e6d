# escape: none; with SHELL_EXECUTE /bin/sh runs inside the same confinement (imports opened by config, validator skipped)
# layer: capability, seccomp
# xfail: every child process dies of SIGSYS before execve: the seccomp row "rt_sigaction [not replacing SIGSYS]" traps the SIG_DFL reset that posix_spawn, system() and _posixsubprocess do in the child while signals are blocked, so the kernel kills it (wait status 31); SHELL_EXECUTE cannot run anything
# config: open-imports
# args: --skip-validation
# caps: SHELL_EXECUTE
# args: --max-procs 8
# expect: completed status=Success report.out=hi report.rc=0
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        p = subprocess.run(["/bin/sh", "-c", "echo hi"], capture_output=True, text=True, timeout=5)
        return {"status": "Success", "report": {"out": p.stdout.strip(), "rc": p.returncode}}
