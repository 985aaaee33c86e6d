"""Returns dates, times and datetimes in its report, which become ISO text."""
import datetime


class FromDatetime:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {
            "start": datetime.datetime(2026, 1, 2, 3, 4, 5),
            "day": datetime.date(2026, 1, 2),
            "at": datetime.time(3, 4, 5)}}
