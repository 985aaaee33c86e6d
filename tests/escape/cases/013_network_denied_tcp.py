# escape: connect to the harness's loopback TCP listener without a network capability
# layer: capability, audit-hook, netns
# config: open-imports
# args: --skip-validation
# expect: security
# denied-capability: NETWORK_FULL
import socket


class Converter:
    def convert_file(self, file_path, args):
        try:
            with socket.create_connection(("127.0.0.1", int(args["tcp_port"])), timeout=3) as s:
                s.sendall(b"exfiltrated")
            return {"status": "Success", "report": {"sent": True}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
