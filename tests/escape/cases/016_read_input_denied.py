# escape: read the input file without READ_INPUT
# layer: capability, audit-hook
# args: --skip-validation --no-default-caps --cap WRITE_OUTPUT --cap LOG_INFO
# expect: security
# denied-capability: READ_INPUT


class Converter:
    def convert_file(self, file_path, args):
        try:
            with open(file_path) as f:
                return {"status": "Success", "report": {"content": f.read()}}
        except OSError as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
