# escape: leave a FIFO (the host must not block on it) and a device node in /output
# layer: host, landlock
# args: --skip-validation
# expect: completed status=Success
# expect: security
import os
import stat


class Converter:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        made = {}
        try:
            os.mkfifo(os.path.join(out, "result.json"))
            made["fifo"] = True
        except OSError as e:
            made["fifo"] = repr(e)
        try:
            os.mknod(os.path.join(out, "null"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
            made["chr"] = True
        except OSError as e:
            made["chr"] = repr(e)
        return {"status": "Success", "report": made}
