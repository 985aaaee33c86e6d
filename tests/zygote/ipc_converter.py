"""Looks for the System V objects an earlier job left under a fixed key, then
leaves its own. Run without seccomp (a degraded run), where these calls are
allowed: each job must find nothing, since each has an IPC namespace of its
own."""
import ctypes
import errno

LIBC = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
KEY = 0x43564258


def call(fn, *args):
    ctypes.set_errno(0)
    ret = fn(*args)
    return "OK" if ret >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")


class IpcLeaver:
    def convert_file(self, file_path, args):
        found = {"shm": call(LIBC.shmget, KEY, 0, 0), "msg": call(LIBC.msgget, KEY, 0)}
        left = {"shm": call(LIBC.shmget, KEY, 4096, IPC_CREAT | 0o600),
                "msg": call(LIBC.msgget, KEY, IPC_CREAT | 0o600)}
        return {"status": "Success", "report": {"found": found, "left": left}}
