# escape: native: System V shared memory, message queue and semaphore set, and a POSIX message queue, each created with a fixed key or name: what the next job of the same runner would find, since jobs share the runner's IPC namespace while seccomp is in force
# layer: seccomp
# (none of these calls is on the allowlist; without seccomp each job gets an IPC namespace of its own)
# config: native
# args: --skip-validation
# expect: security denied.0.target=shmget denied.1.target=msgget denied.2.target=semget denied.3.target=mq_open
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


IPC_CREAT = 0o1000
KEY = 0x43564258  # what a later job would look for


class Converter:
    def convert_file(self, file_path, args):
        found = {
            "shmget": sys_call(29, KEY, 4096, IPC_CREAT | 0o600),
            "msgget": sys_call(68, KEY, IPC_CREAT | 0o600),
            "semget": sys_call(64, KEY, 1, IPC_CREAT | 0o600),
            "mq_open": sys_call(240, b"convbox-left-behind", 0o100 | 0o2, 0o600, None),
        }
        return {"status": "Success", "report": {k: v[1] for k, v in found.items()}}
