"""Returns dates, times and datetimes in its report, which become ISO text,
whichever module makes them: datetime, or the C module _datetime."""
import _datetime
import datetime


def report(module):
    return {"status": "Success", "report": {
        "start": module.datetime(2026, 1, 2, 3, 4, 5),
        "day": module.date(2026, 1, 2),
        "at": module.time(3, 4, 5)}}


class FromDatetime:
    def convert_file(self, file_path, args):
        return report(datetime)


class FromCModule:
    def convert_file(self, file_path, args):
        return report(_datetime)
