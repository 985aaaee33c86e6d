"""Says whether its job found the converter's code object made ahead, by the
spare that became the job (the zygote's fast path), before the job was known."""

import sys


class CompiledAhead:
    def convert_file(self, file_path, args):
        made = getattr(sys.modules.get("convbox_job"), "_compiled", None)
        ahead = made is not None and made[0] == __file__
        return {"status": "Success", "report": {"compiled_ahead": ahead}}
