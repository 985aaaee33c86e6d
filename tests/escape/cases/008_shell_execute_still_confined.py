# escape: with SHELL_EXECUTE granted, use the shell to read the secret and write the canary
# layer: capability, mount, landlock
# caps: SHELL_EXECUTE
# args: --max-procs 8
# expect: completed status=Success report.cat_failed=true report.write_failed=true
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        script = 'cat "$1"; echo "cat=$?"; echo pwned > "$2/pwn"; echo "write=$?"'
        p = subprocess.run(["/bin/sh", "-c", script, args["marker"], args["secret"],
                            args["canary_dir"]], capture_output=True, text=True, timeout=5)
        out = p.stdout
        return {"status": "Success",
                "report": {"stdout": out, "stderr": p.stderr[-500:],
                           "cat_failed": "cat=0" not in out, "write_failed": "write=0" not in out}}
