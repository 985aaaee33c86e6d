"""Tries to leave state behind for the next job, and reports what it found
from earlier jobs. Every job must find nothing."""
import builtins
import json
import os
import random
import sys
import tempfile
import threading

COUNTER = 0  # module state: a fresh module per job sees 0


class Leaky:
    def convert_file(self, file_path, args):
        global COUNTER
        box = []
        worker = threading.Thread(target=lambda: box.append(sum(range(1000))))
        worker.start()
        worker.join(10)
        found = {
            "random": random.getrandbits(64),
            "thread": box,
            "environ": sorted(os.environ),
            "tempdir": tempfile.gettempdir(),
            "counter": COUNTER,
            "builtins": getattr(builtins, "_convbox_leak", None),
            "sys_modules": "leak_marker" in sys.modules,
            "json_patched": getattr(json, "_convbox_leak", None),
            "env": os.environ.get("CONVBOX_LEAK"),
            "tmp": sorted(os.listdir(tempfile.gettempdir())),
            "output": sorted(os.listdir(os.environ["CONVBOX_OUTPUT_DIR"])),
            "cwd": os.getcwd(),
            "pid": os.getpid(),
        }
        COUNTER += 1
        builtins._convbox_leak = file_path.name
        sys.modules["leak_marker"] = sys
        json._convbox_leak = file_path.name
        os.environ["CONVBOX_LEAK"] = file_path.name
        with open(os.path.join(tempfile.gettempdir(), "left-" + file_path.name), "w") as f:
            f.write("x")
        with open(os.path.join(os.environ["CONVBOX_OUTPUT_DIR"], "out-" + file_path.name), "w") as f:
            f.write("x")
        secret = bytearray(b"LEAK-" + file_path.name.encode()) * 1000  # memory
        return {"status": "Success", "report": {"found": found, "len": len(secret)}}
