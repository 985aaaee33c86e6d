"""Logs its progress through the logging module (LOG_INFO / LOG_WARNING)."""

import csv
import logging
from datetime import datetime, timezone

logger = logging.getLogger("converters.logging_example")


class LoggingConverter:
    name = "LoggingConverter"
    file_patterns = ["*.csv"]

    def __init__(self):
        self.log = logger.getChild(type(self).__name__)

    def convert_file(self, file_path, args):
        self.log.info("converting %s", file_path.name)
        steps, skipped = [], 0
        with file_path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                try:
                    value = float(row["value"])
                except ValueError:
                    skipped += 1
                    self.log.warning("row %s has no number: %r", row["name"], row["value"])
                    continue
                steps.append({"stepType": "ET_NLT", "name": row["name"], "group": "M",
                              "status": "P",
                              "numericMeas": [{"status": "P", "value": value, "unit": "",
                                               "compOp": "LOG"}]})
        self.log.debug("%d steps, %d skipped", len(steps), skipped)
        return {"status": "Success", "warnings": [f"{skipped} rows skipped"] if skipped else [],
                "report": {"type": "T", "pn": args.get("pn", "PN-LOG"),
                           "sn": file_path.stem.replace("_", "-").upper(), "rev": "1",
                           "processCode": 10, "result": "P",
                           "start": datetime.now(timezone.utc).isoformat(),
                           "root": {"stepType": "SequenceCall", "name": "Logged", "status": "P",
                                    "seqCall": {"path": "log", "name": "Logged",
                                                "version": "1"},
                                    "steps": steps}}}
