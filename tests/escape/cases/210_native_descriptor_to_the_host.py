# escape: native: send the host a descriptor over fd 3 (a pipe's write end, with a well-formed LOG frame), hoping it keeps it: a way to leave something open in convbox
# layer: host
# (only the job's first frame may carry a descriptor, the seccomp listener; the host reads the rest with plain reads, for which the kernel drops any descriptor: the pipe must reach end-of-file once the job has closed its own end)
# config: native
# args: --skip-validation
# expect: completed status=Success report.sent=true report.eof=true
import ctypes
import os
import select
import struct

LIBC = ctypes.CDLL(None, use_errno=True)
MAGIC, LOG = 0x46425643, 32
SOL_SOCKET, SCM_RIGHTS = 1, 1


def header(ftype, job_id, length):
    h = struct.pack("<IHHQI", MAGIC, ftype, 0, job_id, length)
    c = 0x9E3779B9
    for i in range(0, 20, 4):
        c = ((c ^ struct.unpack_from("<I", h, i)[0]) * 0x01000193) & 0xFFFFFFFF
    return h + struct.pack("<I", c)


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(IoVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


def send_with_fd(sock, data, fd):
    buf = ctypes.create_string_buffer(data, len(data))
    iov = IoVec(ctypes.cast(buf, ctypes.c_void_p), len(data))
    control = ctypes.create_string_buffer(struct.pack("=QiiI", 20, SOL_SOCKET, SCM_RIGHTS, fd), 24)
    msg = MsgHdr(None, 0, ctypes.pointer(iov), 1, ctypes.cast(control, ctypes.c_void_p), 24, 0)
    return LIBC.sendmsg(sock, ctypes.byref(msg), 0) == len(data)


class Converter:
    def convert_file(self, file_path, args):
        job_id = int(args.get("job_id", 1))
        r, w = os.pipe()
        payload = b'{"level":"INFO","message":"a descriptor for you"}'
        sent = send_with_fd(3, header(LOG, job_id, len(payload)) + payload, w)
        os.close(w)
        ready, _, _ = select.select([r], [], [], 5)
        eof = bool(ready) and os.read(r, 1) == b""
        return {"status": "Success", "report": {"sent": sent, "eof": eof}}
