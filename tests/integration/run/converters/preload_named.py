"""Says which of three modules of the zygote's preload list its job found
imported. The source names the first (minidom) and spells the other two in
pieces, so that it does not name them: a zygote imports the first for it and
not the others; a cold runner imports none of them. Words that only contain
a module's name (zipfile_count, decimals) do not name it."""

import sys

MODULES = ("xml.dom.minidom", "dec" "imal", "zip" "file")


class PreloadNamed:
    def convert_file(self, file_path, args):
        zipfile_count = decimals = 0
        loaded = [m for m in MODULES if m in sys.modules]
        return {"status": "Success", "report": {"loaded": loaded[zipfile_count + decimals:]}}
