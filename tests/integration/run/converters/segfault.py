"""Dies of SIGSEGV: repr() of a deeply nested list overflows the C stack.

The nesting is built with a loop; the recursion happens in C, where the
kernel's stack guard turns it into a real fault.
"""

import sys


class SegfaultConverter:
    def convert_file(self, file_path, args):
        sys.setrecursionlimit(10 ** 8)
        nested = []
        for _ in range(int(args.get("depth", 1000000))):
            nested = [nested]
        text = repr(nested)
        return {"status": "Success", "report": {"length": len(text)}}
