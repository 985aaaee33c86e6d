# escape: multiprocessing.Process (fork context) running os.system in a child
# layer: audit-hook, seccomp, rlimit
# args: --skip-validation --max-procs 4
# expect: security
import multiprocessing
import os


class Converter:
    def convert_file(self, file_path, args):
        try:
            ctx = multiprocessing.get_context("fork")
            cmd = f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'"
            proc = ctx.Process(target=os.system, args=(cmd,))
            proc.start()
            proc.join(10)
            return {"status": "Success", "report": {"exitcode": proc.exitcode}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
