# escape: pure Python: open an OUTPUT frame on fd 3 whose length covers the audit hook's DENIED frames to come, so that they arrive as the bytes of an output file and the verdict misses them
# layer: audit-hook, host
# (the hook counts each denial in a page of the host first: denials counted but never reported are caught)
# args: --skip-validation
# expect: security
import json
import os
import struct

FRAME_DENIED, FRAME_OUTPUT = 33, 34


def header(ftype, job_id, length):
    h = struct.pack("<IHHQI", 0x46425643, ftype, 0, job_id, length)
    c = 0x9E3779B9
    for i in range(0, 20, 4):
        c = ((c ^ struct.unpack_from("<I", h, i)[0]) * 0x01000193) & 0xFFFFFFFF
    return h + struct.pack("<I", c)


class WrapDenials:
    def convert_file(self, file_path, args):
        job_id = 1  # the only job of the run (no validation job before it)
        targets = [args["secret"], "/proc/1/environ"]
        wrapped = b""
        for path in targets:
            d = json.dumps({"action": "open", "target": path, "mode": "r", "capability": None,
                            "layer": "audit-hook"}, separators=(",", ":")).encode()
            wrapped += header(FRAME_DENIED, job_id, len(d)) + d
        name = b"swallowed.bin"
        os.write(3, header(FRAME_OUTPUT, job_id, 2 + len(name) + len(wrapped)) +
                 struct.pack("<H", len(name)) + name)
        tried = []
        for path in targets:
            try:
                with open(path) as f:
                    f.read()
                tried.append("read")
            except Exception as e:
                tried.append(type(e).__name__)
        return {"status": "Success", "report": {"tried": tried}}
