# escape: with SHELL_EXECUTE, copy a binary into /output, chmod +x and run it from there (noexec)
# layer: mount, landlock, audit-hook
# xfail: every child process dies of SIGSYS before execve: the seccomp row "rt_sigaction [not replacing SIGSYS]" traps the SIG_DFL reset that posix_spawn, system() and _posixsubprocess do in the child while signals are blocked, so the kernel kills it (wait status 31); SHELL_EXECUTE cannot run anything
# config: open-imports
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 8
# expect: completed status=Failed report.errno=EACCES
# expect: security
import errno
import os
import shutil
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        dst = os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "tool")
        shutil.copyfile("/usr/bin/true", dst)
        os.chmod(dst, 0o755)
        try:
            rc = subprocess.run([dst], timeout=5).returncode
            return {"status": "Success", "report": {"ran": rc}}
        except OSError as e:
            return {"status": "Failed", "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)),
                                                   "error": repr(e)}}
