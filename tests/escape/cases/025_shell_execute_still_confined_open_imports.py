# escape: with SHELL_EXECUTE granted, use the shell to read the secret and write the canary (imports opened by config, validator skipped)
# layer: capability, mount, landlock
# xfail: every child process dies of SIGSYS before execve: the seccomp row "rt_sigaction [not replacing SIGSYS]" traps the SIG_DFL reset that posix_spawn, system() and _posixsubprocess do in the child while signals are blocked, so the kernel kills it (wait status 31); SHELL_EXECUTE cannot run anything
# config: open-imports
# args: --skip-validation
# caps: SHELL_EXECUTE
# args: --max-procs 8
# expect: completed status=Success report.alive=true report.cat_failed=true report.write_failed=true
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        script = 'echo alive; cat "$1"; echo "cat=$?"; echo pwned > "$2/pwn"; echo "write=$?"'
        p = subprocess.run(["/bin/sh", "-c", script, args["marker"], args["secret"],
                            args["canary_dir"]], capture_output=True, text=True, timeout=5)
        out = p.stdout
        return {"status": "Success",
                "report": {"stdout": out, "stderr": p.stderr[-500:], "rc": p.returncode,
                           "alive": out.startswith("alive"),
                           "cat_failed": "cat=0" not in out, "write_failed": "write=0" not in out}}
