"""Prints 100,000 lines, then returns a normal result."""


class ChattyConverter:
    def convert_file(self, file_path, args):
        n = int(args.get("lines", 100000))
        for i in range(n):
            print("progress line", i)
        return {"status": "Success", "report": {"printed": n}}
