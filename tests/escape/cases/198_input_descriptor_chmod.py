# escape: change the host's input file (mode, times) through a descriptor of it; as the file's owner (an unprivileged convbox) fchmod and futimens would succeed
# layer: host
# expect: completed status=Success report.changed=false report.files=0
import os
import stat


class Converter:
    def convert_file(self, file_path, args):
        files, changed = 0, False
        for fd in range(3, 256):
            try:
                before = os.fstat(fd)
            except OSError:
                continue
            if not stat.S_ISREG(before.st_mode):
                continue
            files += 1
            for attempt in (lambda: os.chmod(fd, 0o666), lambda: os.utime(fd, (0, 0))):
                try:
                    attempt()
                except OSError:
                    pass
            after = os.fstat(fd)
            changed = changed or after.st_mode != before.st_mode or after.st_mtime != before.st_mtime
        return {"status": "Success", "report": {"files": files, "changed": changed}}
