# escape: open the station secret with zipfile (reads the file to look for a central directory)
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null

import zipfile


class Converter:
    def convert_file(self, file_path, args):
        try:
            zipfile.ZipFile(args["secret"])
            return {"status": "Success", "report": {"opened": True}}
        except zipfile.BadZipFile:
            return {"status": "Success", "report": {"opened": "read but not a zip"}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
