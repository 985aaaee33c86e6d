"""Does what the input says: `<action> [delay]` where action is a status,
`raise`, `alloc` or `spin`."""

import time


class ByContentConverter:
    def convert_file(self, file_path, args):
        action, _, delay = file_path.read_text(encoding="utf-8").strip().partition(" ")
        time.sleep(float(delay or 0))
        if action == "raise":
            raise RuntimeError("asked to fail: " + file_path.name)
        if action == "alloc":
            return {"status": "Success", "report": {"n": len(bytearray(4 << 30))}}
        if action == "spin":
            while True:
                pass
        return {"status": action, "report": {"name": file_path.name}}
