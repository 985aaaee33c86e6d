# escape: resolve a name (DNS) and send a DNS-shaped query to the harness's UDP port
# layer: capability, audit-hook, netns
# args: --skip-validation
# expect: security
import socket
import struct


class Converter:
    def convert_file(self, file_path, args):
        got = {}
        try:
            got["resolved"] = str(socket.getaddrinfo("localhost", 80)[:1])
        except Exception as e:
            got["resolve_error"] = repr(e)
        query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
        query += b"".join(bytes([len(p)]) + p for p in (b"leak", b"example", b"invalid")) + b"\0"
        query += struct.pack(">HH", 1, 1)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(query, ("127.0.0.1", int(args["udp_port"])))
            got["sent"] = True
        except Exception as e:
            got["send_error"] = repr(e)
        return {"status": "Success", "report": got}
