"""Writes to the job's channel (fd 3) directly: garbage, or a valid-looking
header that announces a 1 GiB frame."""

import os
import struct
import time

MAGIC = 0x46425643
REPORT = 38


def _check(head):
    c = 0x9E3779B9
    for i in range(0, 20, 4):
        c = ((c ^ struct.unpack_from("<I", head, i)[0]) * 0x01000193) & 0xFFFFFFFF
    return c


class HostileFrames:
    def convert_file(self, file_path, args):
        if args["mode"] == "garbage":
            os.write(3, b"NOT A FRAME HEADER " * 8)
        else:
            head = struct.pack("<IHHQI", MAGIC, REPORT, 0, int(args.get("job", 1)), 1 << 30)
            os.write(3, head + struct.pack("<I", _check(head)))
        time.sleep(10)
        return {"status": "Success", "report": {}}
