# escape: raw ioctl(0, TIOCSTI) to push keystrokes into a terminal
# layer: seccomp, host
# config: native
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOTTY
# expect: completed status=Failed report.errno=EBADF
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
        ch = ctypes.c_char(b"x")
        ret, err = sys_call(16, 0, 0x5412, ctypes.byref(ch))
        return {"status": "Success" if ret == 0 else "Failed", "report": {"errno": err}}
