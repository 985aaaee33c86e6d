# escape: read the station secret with the builtin open()
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null


class Converter:
    def convert_file(self, file_path, args):
        try:
            with open(args["secret"]) as f:
                return {"status": "Success", "report": {"leak": f.read()}}
        except OSError as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
