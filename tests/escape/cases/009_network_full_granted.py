# escape: none; with NETWORK_FULL the converter reaches the harness's loopback TCP listener
# layer: capability, netns
# caps: NETWORK_FULL
# network: tcp
# expect: completed status=Success report.sent=true
import socket


class Converter:
    def convert_file(self, file_path, args):
        with socket.create_connection(("127.0.0.1", int(args["tcp_port"])), timeout=5) as s:
            s.sendall(b"hello from a converter with NETWORK_FULL")
        return {"status": "Success", "report": {"sent": True}}
