# escape: with NETWORK_FULL (host network namespace) connect to the host's abstract unix socket
# layer: seccomp, landlock, audit-hook
# config: open-imports
# caps: NETWORK_FULL
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=EPERM
import errno
import socket


class Converter:
    def convert_file(self, file_path, args):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect("\0" + args["abstract"])
            s.sendall(b"hello abstract")
            return {"status": "Success", "report": {"connected": True}}
        except OSError as e:
            return {"status": "Failed",
                    "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)), "error": repr(e)}}
