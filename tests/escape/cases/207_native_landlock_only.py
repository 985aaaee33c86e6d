# escape: native: what only Landlock refuses (seccomp allows openat, the mount view and file modes allow these): list the view's root, open /dev/zero and /dev/urandom for writing, open the converter's folder for a new file
# layer: landlock
# config: native
# args: --skip-validation
# expect: completed status=Failed report.root_dir=EACCES report.zero_w=EACCES report.urandom_w=EACCES
import ctypes
import errno
import os

LIBC = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100


def try_open(path, flags):
    fd = LIBC.openat(AT_FDCWD, path.encode(), flags, 0o644)
    if fd >= 0:
        LIBC.close(fd)
        return "opened"
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))


class LandlockOnly:
    def convert_file(self, file_path, args):
        report = {"root_dir": try_open("/", os.O_RDONLY | os.O_DIRECTORY),
                  "zero_w": try_open("/dev/zero", os.O_WRONLY),
                  "urandom_w": try_open("/dev/urandom", os.O_WRONLY)}
        return {"status": "Failed", "report": report}
