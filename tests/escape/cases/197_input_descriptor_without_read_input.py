# escape: read the input without READ_INPUT through a descriptor left open (Landlock does not revoke descriptors)
# layer: host, capability
# args: --no-default-caps --cap WRITE_OUTPUT --cap LOG_INFO
# expect: completed status=Success report.read=false report.files=0
import os
import stat


class Converter:
    def convert_file(self, file_path, args):
        files, read = 0, False
        for fd in range(3, 256):
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
            except OSError:
                continue
            files += 1
            try:
                read = read or len(os.pread(fd, 4096, 0)) > 0
            except OSError:
                pass
        return {"status": "Success", "report": {"files": files, "read": read}}
