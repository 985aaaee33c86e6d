# escape: grow memory in 16 MiB steps past --memory 128 (bounded to 1 GiB)
# layer: rlimit
# args: --skip-validation --memory 128
# expect: memory_limit


class Converter:
    def convert_file(self, file_path, args):
        hoard = []
        for _ in range(64):
            hoard.append(bytearray(16 << 20))
        return {"status": "Success", "report": {"held_mib": 16 * len(hoard)}}
