"""Returns the status named by --arg status=..., as a string or as an enum member."""

import enum


class Status(enum.Enum):
    SUCCESS = "success"
    FAILED = "failed"
    SUSPENDED = "suspended"
    SKIPPED = "skipped"
    REJECTED = "rejected"


class StatusEcho:
    def convert_file(self, file_path, args):
        status = args["status"]
        if args.get("as_enum"):
            status = Status(status.lower())
        return {"status": status, "report": {"asked": args["status"]}}
