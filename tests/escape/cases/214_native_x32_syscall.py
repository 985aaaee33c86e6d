# escape: native: a syscall through the x32 ABI (number | 0x40000000), which no allow rule names
# layer: seccomp
# (the filter kills a call of another architecture with SIGSYS; the host reports that death as a refused call)
# config: native
# args: --skip-validation
# expect: security denied.0.target~=architecture
import ctypes

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


class Converter:
    def convert_file(self, file_path, args):
        r = LIBC.syscall(ctypes.c_long(0x40000000 + 101), 0, 0, 0, 0)  # ptrace, x32
        return {"status": "Success", "report": {"r": r, "e": ctypes.get_errno()}}
