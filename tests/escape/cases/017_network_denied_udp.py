# escape: send a UDP datagram to the harness's loopback listener without a network capability
# layer: capability, audit-hook, netns
# args: --skip-validation
# expect: security
import socket


class Converter:
    def convert_file(self, file_path, args):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"exfiltrated over udp", ("127.0.0.1", int(args["udp_port"])))
            return {"status": "Success", "report": {"sent": True}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
