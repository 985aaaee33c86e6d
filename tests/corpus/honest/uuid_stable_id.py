"""Gives each report a stable id (uuid5 of serial and start) so re-uploads replace."""

import csv
import hashlib
import uuid

NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


class StableIdConverter:
    name = "StableIdConverter"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path, args):
        raw = file_path.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        rows = list(csv.DictReader(raw.decode("utf-8").splitlines()))
        first = rows[0]
        report_id = uuid.uuid5(NAMESPACE, f"{first['sn']}|{first['start']}")
        steps = [{"stepType": "ET_NLT", "name": r["name"], "group": "M", "status": "P",
                  "numericMeas": [{"status": "P", "value": float(r["value"]), "unit": "",
                                   "compOp": "LOG"}]} for r in rows]
        return {"status": "Success", "report": {
            "id": str(report_id), "type": "T", "pn": first["pn"], "sn": first["sn"],
            "rev": "1", "processCode": 10, "result": "P", "start": first["start"],
            "root": {"stepType": "SequenceCall", "name": "Stable", "status": "P",
                     "seqCall": {"path": "uuid", "name": "Stable", "version": "1"},
                     "steps": steps}}, "metadata": {"sha256": digest}}
