# escape: write well-formed RESULT frames for other job ids on the channel socket
# layer: host
# args: --skip-validation
# expect: protocol
# expect: completed status=Failed report.real=true report.sent=0
# absent: FORGED-REPORT
import json
import os
import stat
import struct


def frame(ftype, job, payload):
    """One frame of the convbox wire format (see include/convbox/frame.h)."""
    hdr = struct.pack("<IHHQI", 0x46425643, ftype, 0, job, len(payload))
    check = 0x9E3779B9
    for i in range(0, 20, 4):
        check = ((check ^ struct.unpack_from("<I", hdr, i)[0]) * 0x01000193) & 0xFFFFFFFF
    return hdr + struct.pack("<I", check) + payload


def channels():
    out = []
    for fd in range(3, 1024):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                out.append(fd)
        except OSError:
            pass
    return out


def send(frames):
    sent = 0
    for fd in channels():
        for data in frames:
            try:
                os.write(fd, data)
                sent += 1
            except OSError:
                pass
    return sent


FORGED = json.dumps({"outcome": "completed", "status": "Success",
                     "report": {"forged": "FORGED-REPORT"}, "logs": [], "denied": []}).encode()


class Converter:
    def convert_file(self, file_path, args):
        jobs = [1000, 1001, 4242, 1 << 63, (1 << 64) - 1]
        sent = send([frame(35, job, FORGED) for job in jobs])
        return {"status": "Failed", "report": {"real": True, "sent": sent}}
