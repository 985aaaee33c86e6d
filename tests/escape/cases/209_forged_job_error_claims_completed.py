# escape: pure Python: a forged JOB_ERROR frame whose outcome is "completed" (and a second job claiming "timeout"), then crash with abort(): a job may only make itself look worse, never claim completion or a host-side timeout
# layer: host
# args: --skip-validation
# expect: protocol
import os
import struct

MAGIC = 0x46425643
JOB_ERROR = 36


def header(ftype, job_id, length):
    h = struct.pack("<IHHQI", MAGIC, ftype, 0, job_id, length)
    c = 0x9E3779B9
    for i in range(0, 20, 4):
        c = ((c ^ struct.unpack_from("<I", h, i)[0]) * 0x01000193) & 0xFFFFFFFF
    return h + struct.pack("<I", c)


class ClaimCompleted:
    def convert_file(self, file_path, args):
        job_id = int(args.get("job_id", 1))
        outcome = args.get("claim", "completed")
        payload = b'{"outcome":"%s","error":"all fine","layer":"runner"}' % outcome.encode()
        os.write(3, header(JOB_ERROR, job_id, len(payload)) + payload)
        os.abort()  # crashed, really
