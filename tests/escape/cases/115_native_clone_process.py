# escape: raw clone(2) of a new process (no CLONE_THREAD), also with CLONE_NEWUSER
# layer: seccomp, userns
# config: native
# args: --skip-validation
# expect: security
import ctypes
import errno
import os
import struct

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


def sys_call(nr, *args):
    """Raw syscall(2), x86_64 numbers; returns (result, errno name or "OK")."""
    ctypes.set_errno(0)
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    ret = LIBC.syscall(ctypes.c_long(nr), *conv)
    err = ctypes.get_errno()
    return ret, (errno.errorcode.get(err, str(err)) if ret < 0 else "OK")


def child_exit(ret):
    """If a fork-like call returned 0 we are the child: leave at once."""
    if ret == 0:
        LIBC.syscall(ctypes.c_long(231), ctypes.c_long(0))  # exit_group


def sockaddr_in(port):
    return struct.pack("<H", 2) + struct.pack(">H", port) + bytes([127, 0, 0, 1]) + bytes(8)


def sockaddr_un(path):
    raw = path.encode() if isinstance(path, str) else path
    return struct.pack("<H", 1) + raw + b"\0"


class Converter:
    def convert_file(self, file_path, args):
        report = {}
        for name, flags in (("plain", 17), ("newuser", 17 | 0x10000000)):  # SIGCHLD, CLONE_NEWUSER
            ret, err = sys_call(56, flags, 0, 0, 0, 0)
            child_exit(ret)
            report[name] = err
        return {"status": "Success", "report": report}
