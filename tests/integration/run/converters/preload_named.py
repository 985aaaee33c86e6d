"""Says which of the zygote's preload modules listed below its job found
imported. The source spells each name in pieces wherever it must not name
the module, so that only these name one: minidom and bisect as whole
strings, heapq as a word of code. A zygote imports those for it and not
the others; a cold runner imports none of them. What does not name a module:
words that only contain its name (zipfile_count, decimals), a longer string
that holds it (the gzip file pattern), a comment (the one on uuid below)."""

import sys

MODULES = ("xml.dom.minidom", "dec" "imal", "zip" "file", "gz" "ip", "uu" "id",
           "bis" "ect", "hea" "pq")
PATTERNS = ["*.gzip"]
# a uuid per report would be nice, one day


def unused(import_module):
    return import_module("bisect")


class PreloadNamed:
    heapq = None

    def convert_file(self, file_path, args):
        zipfile_count = decimals = 0
        loaded = [m for m in MODULES if m in sys.modules]
        return {"status": "Success", "report": {"loaded": loaded[zipfile_count + decimals:]}}
