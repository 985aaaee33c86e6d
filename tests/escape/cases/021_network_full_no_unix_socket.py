# escape: with NETWORK_FULL granted, reach the host's pathname unix socket (not covered by it)
# layer: seccomp, mount, audit-hook
# config: open-imports
# caps: NETWORK_FULL
# args: --skip-validation
# expect: security
# expect: completed status=Failed report.errno=ENOENT
import errno
import socket


class Converter:
    def convert_file(self, file_path, args):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(args["unix_sock"])
            s.sendall(b"hello host daemon")
            return {"status": "Success", "report": {"connected": True}}
        except OSError as e:
            return {"status": "Failed",
                    "report": {"errno": errno.errorcode.get(e.errno, str(e.errno)), "error": repr(e)}}
