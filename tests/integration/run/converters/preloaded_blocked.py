"""Says whether a module the zygote preloads (zipfile) is loaded, then imports
it: blocked by the configuration, the module must be gone and its import
denied, in a job forked from the zygote as in a fresh runner."""

import sys


class PreloadedBlocked:
    def convert_file(self, file_path, args):
        print("zipfile loaded: %s" % ("zipfile" in sys.modules))
        __import__("zipfile")
        return {"status": "Success", "report": {"imported": "zipfile"}}
