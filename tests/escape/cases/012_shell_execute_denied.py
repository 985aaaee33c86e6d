# escape: run /bin/sh through subprocess without SHELL_EXECUTE
# layer: capability, audit-hook, seccomp
# config: open-imports
# args: --skip-validation
# expect: security
# denied-capability: SHELL_EXECUTE
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        try:
            p = subprocess.run(["/bin/sh", "-c", 'cat "$1" > "$2/pwn"', "sh", args["secret"],
                                args["canary_dir"]], capture_output=True, timeout=5)
            return {"status": "Success", "report": {"rc": p.returncode}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
