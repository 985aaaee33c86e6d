# escape: native: a forked child makes a refused syscall and exits quietly; the converter itself never touches anything forbidden and reports success
# layer: seccomp, host
# (the filter's listener is the host's: a child's refusal is heard like the converter's own)
# config: native
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 4
# expect: security denied.0.target=ptrace
import ctypes
import os

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


class Converter:
    def convert_file(self, file_path, args):
        pid = os.fork()
        if pid == 0:
            LIBC.syscall(ctypes.c_long(101), 0, 0, 0, 0)  # ptrace(PTRACE_TRACEME)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        return {"status": "Success", "report": {"child": status}}
