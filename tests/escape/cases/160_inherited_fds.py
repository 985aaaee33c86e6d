# escape: look for inherited descriptors 3..1023: a directory fd (openat escapes every view) or a file holding secrets
# layer: host, landlock
# args: --skip-validation
# expect: completed status=Success report.dirs=0 report.leaked=false
import os
import stat


class Converter:
    def convert_file(self, file_path, args):
        fds, dirs, leaked = {}, 0, False
        for fd in range(3, 1024):
            try:
                st = os.fstat(fd)
            except OSError:
                continue
            mode = st.st_mode
            kind = ("dir" if stat.S_ISDIR(mode) else "reg" if stat.S_ISREG(mode) else
                    "sock" if stat.S_ISSOCK(mode) else "fifo" if stat.S_ISFIFO(mode) else
                    "chr" if stat.S_ISCHR(mode) else oct(stat.S_IFMT(mode)))
            fds[str(fd)] = kind
            if kind == "dir":
                dirs += 1
                try:
                    fds[str(fd)] += ":" + ",".join(os.listdir(fd)[:20])
                except OSError as e:
                    fds[str(fd)] += ":" + repr(e)
            elif kind == "reg":
                try:
                    data = os.pread(fd, 1 << 16, 0)
                    if b"CVBSECRET" in data or b"CVBHOSTENV" in data:
                        leaked = True
                        fds[str(fd)] += ":" + data.decode(errors="replace")[:200]
                except OSError:
                    pass
        return {"status": "Success", "report": {"fds": fds, "dirs": dirs, "leaked": leaked}}
