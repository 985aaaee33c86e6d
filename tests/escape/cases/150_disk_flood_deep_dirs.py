# escape: nest directories 1500 deep in /output (host-side collection must not recurse blindly)
# layer: host, mount
# args: --skip-validation --max-output 8
# expect: completed status=Success
# expect: output_limit
import os


class Converter:
    def convert_file(self, file_path, args):
        path = os.environ.get("CONVBOX_OUTPUT_DIR", "/output")
        depth = 0
        for _ in range(1500):
            path += "/d"
            os.mkdir(path)
            depth += 1
        with open(path + "/leaf.txt", "w") as f:
            f.write("deep")
        return {"status": "Success", "report": {"depth": depth}}
