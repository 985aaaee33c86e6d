"""Logs without naming the logging module anywhere in its source: the
zygote cannot have imported it ahead, so the job imports it, and its records
must still reach the host as log entries. One class takes the module by a
built name, the other logs through the context of the convert() form."""
import importlib


class ByBuiltName:
    def convert_file(self, file_path, args):
        log = importlib.import_module("log" + "ging").getLogger("unnamed")
        log.info("info record")
        log.debug("debug record")
        log.warning("warning record")
        return {"status": "Success", "report": {"logged": 3}}


class ByContext:
    def convert(self, source, context):
        context.log.warning("context record for %s", source.name)
        return {"status": "Success", "report": {"logged": 1}}
