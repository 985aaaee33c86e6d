# escape: a 96 MiB string in the report, above the 64 MiB frame limit
# layer: host
# args: --skip-validation --memory 1024 --timeout 30
# expect: protocol
# expect: output_limit
# expect: converter_error


class Converter:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {"blob": "x" * (96 << 20)}}
