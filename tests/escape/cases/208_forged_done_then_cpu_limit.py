# escape: pure Python: send a forged RESULT (Success) and a forged DONE (tiny usage) on fd 3, keep every descriptor open, then burn CPU past the limit, so that the verdict says completed
# layer: rlimit, host
# (the job's C code marks its own DONE in the host's tally page; an unmarked DONE is ignored, and the runner's record of the exit decides: cpu_limit)
# args: --skip-validation --cpu 1 --timeout 20
# expect: cpu_limit
import os
import struct

MAGIC = 0x46425643
RESULT, DONE = 35, 39


def header(ftype, job_id, length):
    h = struct.pack("<IHHQI", MAGIC, ftype, 0, job_id, length)
    c = 0x9E3779B9
    for i in range(0, 20, 4):
        c = ((c ^ struct.unpack_from("<I", h, i)[0]) * 0x01000193) & 0xFFFFFFFF
    return h + struct.pack("<I", c)


def send(ftype, job_id, payload):
    os.write(3, header(ftype, job_id, len(payload)) + payload)


class ForgeThenSpin:
    def convert_file(self, file_path, args):
        job_id = int(args.get("job_id", 1))
        send(RESULT, job_id, b'{"single":true,"status":"Success"}')
        send(DONE, job_id, b'{"fatal_signal":0,"cpu_us":1,"max_rss_kb":1,"pid":1,'
                           b'"seccomp_denials":[]}')
        n = 0
        while True:  # RLIMIT_CPU ends us; the descriptors stay open till then
            n += 1
