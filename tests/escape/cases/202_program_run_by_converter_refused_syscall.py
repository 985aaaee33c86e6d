# escape: a program the converter runs (a fresh python3.11, no audit hook, no convbox handlers after exec) makes a refused syscall, and the converter reports success as if nothing happened
# layer: seccomp, host
# (the refusal reaches the host from the kernel, through the filter's listener, whichever process made the call)
# config: open-imports
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 8
# expect: security denied.0.target=mount denied.0.layer=seccomp
import subprocess

PROGRAM = """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
rc = libc.syscall(ctypes.c_long(165), b"none", b"/output", b"tmpfs", 0, 0)  # mount(2)
print(rc, ctypes.get_errno())
"""


class Converter:
    def convert_file(self, file_path, args):
        p = subprocess.run(["/usr/bin/python3.11", "-I", "-c", PROGRAM], capture_output=True,
                           text=True, timeout=5)
        return {"status": "Success", "report": {"program": p.returncode, "out": p.stdout}}
