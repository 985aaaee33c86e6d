"""Burns about 0.5 s of CPU and reports what it remembers from earlier calls."""

import time

CALLS = []


class PerInputConverter:
    seen = []

    def convert_file(self, file_path, args):
        CALLS.append(file_path.name)
        PerInputConverter.seen.append(file_path.name)
        start = time.process_time()
        while time.process_time() - start < float(args.get("burn", 0.5)):
            pass
        return {"status": "Success", "report": {"calls": CALLS, "seen": PerInputConverter.seen}}
