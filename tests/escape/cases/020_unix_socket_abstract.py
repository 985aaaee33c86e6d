# escape: connect to the harness's abstract unix socket
# layer: audit-hook, seccomp, landlock, netns
# args: --skip-validation
# expect: security
import socket


class Converter:
    def convert_file(self, file_path, args):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("\0" + args["abstract"])
            s.sendall(b"hello abstract")
            return {"status": "Success", "report": {"connected": True}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
