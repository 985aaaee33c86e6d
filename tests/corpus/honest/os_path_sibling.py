"""Looks for calibration data in a sibling folder next to its input (os.path)."""

import json
import os
import os.path
from datetime import datetime, timezone


class SiblingFolderConverter:
    name = "SiblingFolderConverter"
    file_patterns = ["*.json"]

    def convert_file(self, file_path, args):
        folder = os.path.dirname(os.path.abspath(file_path))
        calib_dir = os.path.join(folder, args.get("calibration_folder", "calibration"))
        offsets = {}
        if os.path.isdir(calib_dir):
            for entry in sorted(os.listdir(calib_dir)):
                if entry.endswith(".json"):
                    with open(os.path.join(calib_dir, entry), encoding="utf-8") as handle:
                        offsets.update(json.load(handle))
        with open(file_path, encoding="utf-8") as handle:
            data = json.load(handle)
        steps = []
        for name, value in data["readings"].items():
            corrected = value - offsets.get(name, 0.0)
            steps.append({"stepType": "ET_NLT", "name": name, "group": "M", "status": "P",
                          "numericMeas": [{"status": "P", "value": corrected, "unit": "",
                                           "compOp": "LOG"}]})
        size = os.path.getsize(file_path)
        return {"status": "Success", "report": {
            "type": "T", "pn": data["pn"], "sn": data["sn"], "rev": "1", "processCode": 10,
            "result": "P", "start": datetime.now(timezone.utc).isoformat(),
            "root": {"stepType": "SequenceCall", "name": "Calibrated", "status": "P",
                     "seqCall": {"path": os.path.basename(file_path), "name": "Calibrated",
                                 "version": "1"}, "steps": steps}},
            "metadata": {"input_bytes": size, "calibrated": bool(offsets),
                         "separator": os.sep}}
