# escape: write into /output without WRITE_OUTPUT
# layer: capability, audit-hook, mount
# args: --skip-validation --no-default-caps --cap READ_INPUT --cap LOG_INFO
# expect: security
# denied-capability: WRITE_OUTPUT
import os


class Converter:
    def convert_file(self, file_path, args):
        outdir = "/output"  # the documented place; the env var is only set with the capability
        try:
            with open(os.path.join(outdir, "result.txt"), "w") as f:
                f.write("written without the capability")
            return {"status": "Success", "report": {"written": True}}
        except OSError as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
