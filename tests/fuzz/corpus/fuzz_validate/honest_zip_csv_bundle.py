"""A zip from a test rack: one CSV per slot, read straight from the archive."""

import csv
import io
import zipfile
from datetime import datetime, timezone


class ZipCsvBundleConverter:
    name = "ZipCsvBundleConverter"
    file_patterns = ["*.zip"]

    def convert_file(self, file_path, args):
        reports = []
        try:
            with zipfile.ZipFile(file_path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if info.is_dir() or not info.filename.endswith(".csv"):
                        continue
                    if info.file_size > 10 * 1024 * 1024:
                        return {"status": "Failed", "error": f"{info.filename} too large"}
                    text = archive.read(info).decode("utf-8")
                    reports.append(self._report(info, text))
        except zipfile.BadZipFile as exc:
            return {"status": "Failed", "error": str(exc)}
        if not reports:
            return {"status": "Skipped", "error": "no CSV in archive"}
        return {"status": "Success", "reports": reports, "post_action": "move"}

    @staticmethod
    def _report(info, text):
        rows = list(csv.reader(io.StringIO(text)))
        serial = rows[0][1]
        steps = [{"stepType": "ET_NLT", "name": name, "group": "M", "status": "P",
                  "numericMeas": [{"status": "P", "value": float(value), "unit": unit,
                                   "compOp": "LOG"}]}
                 for name, value, unit in rows[2:]]
        stamp = datetime(*info.date_time, tzinfo=timezone.utc).isoformat()
        return {"type": "T", "pn": rows[1][1], "sn": serial, "rev": "1", "processCode": 10,
                "result": "P", "start": stamp,
                "root": {"stepType": "SequenceCall", "name": info.filename, "status": "P",
                         "seqCall": {"path": info.filename, "name": "slot", "version": "1"},
                         "steps": steps}}
