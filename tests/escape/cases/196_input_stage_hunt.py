# escape: find a writable way into the input's folder with raw system calls: a leftover directory descriptor (the runner copies the input in through one), a new file or folder in /input, a rename, chmod or truncate of the input
# layer: mount, landlock, host
# config: native
# args: --skip-validation
# expect: completed status=Failed report.created=none
import ctypes
import errno
import os
import stat

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long
AT_FDCWD = -100


def sys_call(nr, *args):
    """Raw syscall(2), x86_64 numbers; returns the result (negative: refused)."""
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    return LIBC.syscall(ctypes.c_long(nr), *conv)


def created_file(dirfd, name):
    fd = sys_call(257, dirfd, name, os.O_CREAT | os.O_WRONLY, 0o644)  # openat
    if fd >= 0:
        sys_call(3, fd)
    return fd >= 0


class Converter:
    def convert_file(self, file_path, args):
        created = []
        for fd in range(0, 1024):  # every directory descriptor left open
            try:
                st = os.fstat(fd)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode) and created_file(fd, b"planted"):
                created.append("fd%d" % fd)
        path = str(file_path).encode()
        folder = os.path.dirname(str(file_path)).encode()
        if created_file(AT_FDCWD, folder + b"/planted"):
            created.append("openat")
        if sys_call(258, AT_FDCWD, folder + b"/planted_dir", 0o755) >= 0:  # mkdirat
            created.append("mkdirat")
        if sys_call(264, AT_FDCWD, path, AT_FDCWD, folder + b"/renamed") >= 0:  # renameat
            created.append("renameat")
        if sys_call(268, AT_FDCWD, path, 0o666) >= 0:  # fchmodat
            created.append("fchmodat")
        if sys_call(268, AT_FDCWD, folder, 0o777) >= 0:
            created.append("fchmodat-dir")
        if sys_call(76, path, 0) >= 0:  # truncate
            created.append("truncate")
        if created:
            return {"status": "Success", "report": {"created": ",".join(created)}}
        return {"status": "Failed", "report": {"created": "none"}}
