# escape: shutil.copy the station secret into /output so the host collects it
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null

import os
import shutil


class Converter:
    def convert_file(self, file_path, args):
        outdir = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        try:
            shutil.copy(args["secret"], os.path.join(outdir, "copied.txt"))
            return {"status": "Success", "report": {"copied": True}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
