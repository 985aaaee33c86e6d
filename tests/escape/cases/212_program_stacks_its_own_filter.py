# escape: a program the converter runs stacks a seccomp filter of its own (prctl PR_SET_SECCOMP) that answers mount(2) with an errno: an errno outranks convbox's notification, so the refused call would never reach the host
# layer: seccomp, host
# (prctl may do anything but PR_SET_SECCOMP: that prctl is itself refused and reported, and so is the mount)
# config: open-imports
# caps: SHELL_EXECUTE
# args: --skip-validation --max-procs 8
# expect: security denied.0.target=prctl denied.1.target=mount
import subprocess

PROGRAM = r"""
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def bpf(c, jt, jf, k): return struct.pack("HBBI", c, jt, jf, k)
prog = bpf(0x20,0,0,0) + bpf(0x15,0,1,165) + bpf(0x06,0,0,0x00050001) + bpf(0x06,0,0,0x7fff0000)
buf = ctypes.create_string_buffer(prog)
class F(ctypes.Structure): _fields_=[("len",ctypes.c_ushort),("f",ctypes.c_void_p)]
f = F(len(prog)//8, ctypes.addressof(buf))
print("prctl", libc.prctl(22, 2, ctypes.byref(f), 0, 0), ctypes.get_errno())
rc = libc.syscall(ctypes.c_long(165), b"none", b"/output", b"tmpfs", 0, 0)  # mount(2)
print("mount", rc, ctypes.get_errno())
"""

class Converter:
    def convert_file(self, file_path, args):
        p = subprocess.run(["/usr/bin/python3.11", "-I", "-c", PROGRAM], capture_output=True,
                           text=True, timeout=5)
        return {"status": "Success", "report": {"program": p.returncode, "out": p.stdout, "err": p.stderr[-300:]}}
