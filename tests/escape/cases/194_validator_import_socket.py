# escape: import socket (static validation, without --skip-validation)
# layer: validator
# expect: security error^="Converter validation failed:"

import socket


class Converter:
    def convert_file(self, file_path, args):
        socket.create_connection(("127.0.0.1", int(args["tcp_port"])), timeout=2).sendall(b"x")
        return {"status": "Success", "report": {}}
