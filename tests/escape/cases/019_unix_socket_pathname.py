# escape: connect to the harness's pathname unix socket (like a docker or dbus socket)
# layer: audit-hook, seccomp, mount
# args: --skip-validation
# expect: security
import socket


class Converter:
    def convert_file(self, file_path, args):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(args["unix_sock"])
            s.sendall(b"hello host daemon")
            return {"status": "Success", "report": {"connected": True}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
