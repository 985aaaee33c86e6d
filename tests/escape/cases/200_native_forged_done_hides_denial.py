# escape: native: after a refused syscall, forge the job's own last word (a DONE without denials), close every host descriptor and linger, so that the verdict misses the denial
# layer: seccomp, host
# (the kernel tells the host of the refusal, through the filter's listener: what the job says in its DONE does not matter)
# config: native
# args: --skip-validation
# expect: security
import ctypes
import os
import struct
import time

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long
MAGIC = 0x46425643
RESULT, DONE, REPORT = 35, 39, 38


def header(ftype, job_id, length):
    h = struct.pack("<IHHQI", MAGIC, ftype, 0, job_id, length)
    c = 0x9E3779B9
    for i in range(0, 20, 4):
        c = ((c ^ struct.unpack_from("<I", h, i)[0]) * 0x01000193) & 0xFFFFFFFF
    return h + struct.pack("<I", c)


def send(ftype, job_id, payload):
    os.write(3, header(ftype, job_id, len(payload)) + payload)


class HideDenial:
    def convert_file(self, file_path, args):
        job_id = int(args.get("job_id", 1))
        rc = LIBC.syscall(ctypes.c_long(101), 0, 0, 0, 0)  # ptrace: refused and recorded
        send(REPORT, job_id, b'{"ptrace_rc":%d}' % rc)
        send(RESULT, job_id, b'{"single":true,"status":"Success"}')
        send(DONE, job_id, b'{"fatal_signal":0,"cpu_us":1,"max_rss_kb":1,"pid":1,'
                           b'"seccomp_denials":[]}')
        os.close(1)
        os.close(2)
        os.close(3)
        time.sleep(60)  # the host ends us; our EXITED record comes too late
