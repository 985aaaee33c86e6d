# escape: none; WRITE_OUTPUT (a default) lets the converter write a file that reaches --output-dir
# layer: capability, mount
# expect: completed status=Success report.written=true report.outdir=/output
# output: result.txt
import os


class Converter:
    def convert_file(self, file_path, args):
        outdir = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        with open(os.path.join(outdir, "result.txt"), "w") as f:
            f.write("converted\n")
        return {"status": "Success", "report": {"written": True, "outdir": outdir}}
