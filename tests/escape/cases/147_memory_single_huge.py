# escape: one 2 GiB allocation with --memory 128
# layer: rlimit
# args: --skip-validation --memory 128
# expect: memory_limit


class Converter:
    def convert_file(self, file_path, args):
        big = bytearray(2 << 30)
        return {"status": "Success", "report": {"len": len(big)}}
