"""The same report as dates.py, its values from the C module _datetime:
whichever way a converter makes its dates, they become ISO text."""
import _datetime


class FromCModule:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {
            "start": _datetime.datetime(2026, 1, 2, 3, 4, 5),
            "day": _datetime.date(2026, 1, 2),
            "at": _datetime.time(3, 4, 5)}}
