# escape: return a report with 10^6 keys (about 20 MB of JSON)
# layer: host
# args: --skip-validation --memory 1024 --timeout 30
# expect: completed status=Success
# expect: protocol
# expect: output_limit


class Converter:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {f"k{i}": i for i in range(1000000)}}
