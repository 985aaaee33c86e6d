# escape: os.posix_spawn a shell (vfork+exec path, no fork audit event)
# layer: audit-hook, seccomp
# args: --skip-validation --max-procs 4
# expect: security
import os


class Converter:
    def convert_file(self, file_path, args):
        try:
            pid = os.posix_spawn("/bin/sh", ["sh", "-c", f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'"], {})
            os.waitpid(pid, 0)
            return {"status": "Success", "report": {"pid": pid}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
