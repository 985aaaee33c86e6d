# escape: with NETWORK_FULL granted, read the secret and send it to the harness listener
# layer: audit-hook, mount, landlock
# config: open-imports
# caps: NETWORK_FULL
# args: --skip-validation
# expect: security
# denied-capability: null
import socket


class Converter:
    def convert_file(self, file_path, args):
        try:
            with open(args["secret"]) as f:
                data = f.read()
        except OSError as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
        with socket.create_connection(("127.0.0.1", int(args["tcp_port"])), timeout=3) as s:
            s.sendall(data.encode())
        return {"status": "Success", "report": {"sent": data}}
