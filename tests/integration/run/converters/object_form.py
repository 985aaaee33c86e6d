"""Object form: convert_file returns an object with attributes and enum members."""

import enum


class ConversionStatus(enum.Enum):
    SUCCESS = "success"
    FAILED = "failed"
    SUSPENDED = "suspended"
    SKIPPED = "skipped"
    REJECTED = "rejected"


class PostProcessAction(enum.Enum):
    DELETE = "delete"
    MOVE = "move"
    ZIP = "zip"
    KEEP = "keep"


class ConverterResult:
    def __init__(self, status, report=None, reports=None, error=None, warnings=None,
                 post_action=PostProcessAction.MOVE, metadata=None, suspend_reason=None,
                 retry_after=None):
        self.status = status
        self.report = report
        self.reports = reports
        self.error = error
        self.warnings = warnings or []
        self.post_action = post_action
        self.metadata = metadata or {}
        self.suspend_reason = suspend_reason
        self.retry_after = retry_after


class KeyValueConverter:
    """Reads `key=value` lines into a WSJF-like report."""

    name = "KeyValueConverter"
    file_patterns = ["*.txt"]

    def convert_file(self, file_path, args):
        fields = {}
        for line in file_path.read_text(encoding="utf-8").splitlines():
            if "=" in line:
                key, _, value = line.partition("=")
                fields[key.strip()] = value.strip()
        status = ConversionStatus(args.get("status", "success"))
        report = {
            "type": "T",
            "pn": fields.get("pn", ""),
            "sn": fields.get("sn", ""),
            "rev": fields.get("rev", ""),
            "result": "P" if fields.get("result") == "pass" else "F",
        }
        if args.get("multi"):
            second = dict(report, sn=report["sn"] + "-B")
            return ConverterResult(status=status, reports=[report, second],
                                   post_action=PostProcessAction.DELETE)
        return ConverterResult(
            status=status,
            report=report,
            post_action=PostProcessAction.ZIP,
            metadata={"fields": len(fields), "source": file_path.name},
            warnings=["rev defaulted"] if "rev" not in fields else [],
        )
