# escape: leave symlinks in /output to the secret, to the canary dir, to /etc/passwd, and a loop
# layer: host, landlock
# args: --skip-validation
# expect: completed status=Success
# expect: security
import os


class Converter:
    def convert_file(self, file_path, args):
        out = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        made = {}
        for name, target in (("secret.txt", args["secret"]), ("canary", args["canary_dir"]),
                             ("passwd", "/etc/passwd"), ("loop", "."), ("up", "..")):
            try:
                os.symlink(target, os.path.join(out, name))
                made[name] = True
            except OSError as e:
                made[name] = repr(e)
        return {"status": "Success", "report": made}
