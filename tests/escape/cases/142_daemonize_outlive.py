# escape: with SHELL_EXECUTE, double-fork a setsid daemon that ignores SIGTERM/SIGHUP and return at once
# layer: pidns
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 8
# expect: completed status=Success
import subprocess


class Converter:
    def convert_file(self, file_path, args):
        daemon = "(trap '' TERM HUP INT; while :; do sleep 1; done) </dev/null >/dev/null 2>&1 &"
        subprocess.run(["/bin/sh", "-c", daemon, args["marker"]], start_new_session=True, timeout=5)
        return {"status": "Success", "report": {"daemonized": True}}
