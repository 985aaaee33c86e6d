"""Opens a socket: the validator must reject it."""

import socket


class NetConverter:
    def convert_file(self, file_path, args):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.close()
        return {"status": "Success", "report": {}}
