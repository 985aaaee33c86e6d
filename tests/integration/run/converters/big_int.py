"""Integers beyond 64 bits, as Python and JSON allow them (e.g. UUID.int)."""

import uuid

UNIT_ID = uuid.UUID("6f1c2a3e-9b4d-4e5f-8a7b-0c1d2e3f4a5b")


class BigIntConverter:
    def convert_file(self, file_path, args):
        report = {"sn": "SN-1", "unitId": UNIT_ID.int, "count": 10 ** 30, "min": -(2 ** 63)}
        return {"status": "Success", "report": report, "metadata": {"unitId": UNIT_ID.int}}
