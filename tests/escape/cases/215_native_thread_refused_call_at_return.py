# escape: native: a thread makes a refused call just as the converter returns Success, so that the job ends (and the waiting thread dies) before the host has heard of the call
# layer: seccomp, host
# (before its DONE the job makes one last refused call of its own and waits for the host's answer: the kernel queues notifications in order, so the thread's was heard first)
# config: native
# args: --skip-validation --max-procs 4
# expect: security denied.0.target=ptrace
import ctypes
import threading

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


class Converter:
    def convert_file(self, file_path, args):
        started = threading.Event()

        def refused():
            started.set()
            LIBC.syscall(ctypes.c_long(101), 0, 0, 0, 0)  # ptrace: held until the host answers

        threading.Thread(target=refused, daemon=True).start()
        started.wait()
        return {"status": "Success", "report": {}}
