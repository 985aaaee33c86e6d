"""Raises an exception from a helper, so the traceback has depth."""


class BadInput(ValueError):
    pass


def _parse(text):
    raise BadInput("no header row in %d bytes" % len(text))


class RaisingConverter:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": _parse(file_path.read_text())}
