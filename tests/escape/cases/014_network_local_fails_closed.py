# escape: ask for NETWORK_LOCAL, which needs a broker that does not exist yet (must fail closed)
# layer: capability
# caps: NETWORK_LOCAL
# expect: sandbox_error
# expect: usage
import socket


class Converter:
    def convert_file(self, file_path, args):
        with socket.create_connection(("127.0.0.1", int(args["tcp_port"])), timeout=3) as s:
            s.sendall(b"NETWORK_LOCAL must not be open yet")
        return {"status": "Success", "report": {"sent": True}}
