# escape: read the station secret through /proc/self/root
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null


class Converter:
    def convert_file(self, file_path, args):
        try:
            with open("/proc/self/root" + args["secret"]) as f:
                return {"status": "Success", "report": {"leak": f.read()}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
