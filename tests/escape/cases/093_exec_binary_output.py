# escape: with SHELL_EXECUTE, copy a binary into /output, chmod +x and run it from there (noexec)
# layer: mount, landlock, audit-hook
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
