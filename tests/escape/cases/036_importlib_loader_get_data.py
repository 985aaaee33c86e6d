# escape: read the secret through an importlib loader (SourceFileLoader.get_data, io.open_code)
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
import importlib.machinery


class Converter:
    def convert_file(self, file_path, args):
        try:
            loader = importlib.machinery.SourceFileLoader("station", args["secret"])
            return {"status": "Success", "report": {"leak": loader.get_data(args["secret"]).decode()}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
