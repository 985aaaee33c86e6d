# escape: none (an honest converter): everyday tools under SHELL_EXECUTE (ls -l, id, cp -a) probe nscd, security labels and reflinks; those probes fail quietly, the tools work, and the result is no security violation
# layer: seccomp, capability
# config: open-imports
# caps: SHELL_EXECUTE FILE_TEMP
# args: --skip-validation --max-procs 16
# expect: completed status=Success report.rc=0 denied=[]
import subprocess

SCRIPT = """
set -e
ls -la /input >/dev/null
id >/dev/null
cp -a "$1" /tmp/copy.csv
cp --reflink=auto "$1" /tmp/copy2.csv
ls -la /tmp >/dev/null
cmp "$1" /tmp/copy.csv
"""


class Tools:
    def convert_file(self, file_path, args):
        p = subprocess.run(["/bin/sh", "-c", SCRIPT, "sh", str(file_path)], capture_output=True,
                           text=True, timeout=20)
        return {"status": "Success", "report": {"rc": p.returncode, "stderr": p.stderr[-500:]}}
