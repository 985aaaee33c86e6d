# escape: return a report nested 100000 lists deep (JSON bomb against the host's parser)
# layer: host
# args: --skip-validation
# expect: converter_error
# expect: protocol


class Converter:
    def convert_file(self, file_path, args):
        deep = []
        for _ in range(100000):
            deep = [deep]
        return {"status": "Success", "report": {"deep": deep}}
