# escape: none; a well-behaved converter reads its input and reports (proves the plumbing)
# layer: capability
# expect: completed status=Success report.rows=2 report.name=sample.csv
import csv
from pathlib import Path


class Converter:
    name = "Baseline"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path, args):
        path = Path(file_path)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        return {"status": "Success",
                "report": {"rows": len(rows), "name": path.name, "first": rows[0]["serial"]}}
