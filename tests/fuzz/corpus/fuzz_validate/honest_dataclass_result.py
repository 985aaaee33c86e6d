"""Object form: a dataclass result whose status is an enum (value "success")."""

import csv
from dataclasses import dataclass, field
from enum import Enum
from typing import List, Optional


class ConversionStatus(Enum):
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"


class PostAction(Enum):
    KEEP = "keep"
    MOVE = "move"
    DELETE = "delete"


@dataclass
class Step:
    name: str
    value: float
    unit: str
    low: float
    high: float

    @property
    def status(self) -> str:
        return "P" if self.low <= self.value <= self.high else "F"

    def to_wsjf(self) -> dict:
        return {"stepType": "ET_NLT", "name": self.name, "group": "M", "status": self.status,
                "numericMeas": [{"status": self.status, "value": self.value,
                                 "unit": self.unit, "compOp": "GELE",
                                 "lowLimit": self.low, "highLimit": self.high}]}


@dataclass
class ConversionResult:
    status: ConversionStatus
    report: Optional[dict] = None
    error: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    post_action: PostAction = PostAction.MOVE
    metadata: dict = field(default_factory=dict)


class DataclassConverter:
    name = "DataclassConverter"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path, args) -> ConversionResult:
        with file_path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        if not rows:
            return ConversionResult(ConversionStatus.SKIPPED, error="empty file")
        steps = [Step(r["name"], float(r["value"]), r["unit"], float(r["low"]), float(r["high"]))
                 for r in rows]
        warnings = [f"{s.name} near limit" for s in steps
                    if s.status == "P" and s.high - s.value < 0.05 * (s.high - s.low)]
        result = "P" if all(s.status == "P" for s in steps) else "F"
        report = {"type": "T", "pn": rows[0]["pn"], "sn": rows[0]["sn"], "rev": "1",
                  "processCode": 10, "result": result, "start": rows[0]["start"],
                  "root": {"stepType": "SequenceCall", "name": "Dataclass", "status": result,
                           "seqCall": {"path": "dc", "name": "Dataclass", "version": "1"},
                           "steps": [s.to_wsjf() for s in steps]}}
        return ConversionResult(ConversionStatus.SUCCESS, report=report, warnings=warnings,
                                metadata={"steps": len(steps)})
