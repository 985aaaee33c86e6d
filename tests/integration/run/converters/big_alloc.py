"""Allocates 4 GiB at once."""


class AllocConverter:
    def convert_file(self, file_path, args):
        mb = int(args.get("mb", 4096))
        if args.get("mode") == "chunks":
            chunks = []
            for _ in range(mb // 64):
                chunks.append(bytearray(64 * 1024 * 1024))
            held = len(chunks)
        else:
            held = len(bytearray(mb * 1024 * 1024))
        return {"status": "Success", "report": {"held": held}}
