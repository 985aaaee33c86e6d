"""Binary fixed-size records: header then records unpacked with struct."""

import struct
from datetime import datetime, timezone

HEADER = struct.Struct("<4sH16s16sI")  # magic, version, part, serial, unix time
RECORD = struct.Struct("<24sfffB")      # name, value, low, high, flags


class BinaryRecordConverter:
    name = "BinaryRecordConverter"
    file_patterns = ["*.dat"]

    def convert_file(self, file_path, args):
        data = file_path.read_bytes()
        if len(data) < HEADER.size:
            return {"status": "Failed", "error": "short file"}
        magic, version, part, serial, stamp = HEADER.unpack_from(data, 0)
        if magic != b"TRES" or version != 1:
            return {"status": "Rejected", "error": "not a TRES v1 file"}
        steps = []
        for offset in range(HEADER.size, len(data) - RECORD.size + 1, RECORD.size):
            name, value, low, high, flags = RECORD.unpack_from(data, offset)
            status = "P" if flags & 1 else "F"
            steps.append({"stepType": "ET_NLT",
                          "name": name.rstrip(b"\0").decode("ascii"), "group": "M",
                          "status": status,
                          "numericMeas": [{"status": status, "value": round(value, 6),
                                           "unit": "", "compOp": "GELE",
                                           "lowLimit": round(low, 6),
                                           "highLimit": round(high, 6)}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"status": "Success", "report": {
            "type": "T", "pn": part.rstrip(b"\0").decode(), "sn": serial.rstrip(b"\0").decode(),
            "rev": str(version), "processCode": 10, "result": result,
            "start": datetime.fromtimestamp(stamp, timezone.utc).isoformat(),
            "root": {"stepType": "SequenceCall", "name": "Binary", "status": result,
                     "seqCall": {"path": "dat", "name": "Binary", "version": "1"},
                     "steps": steps}}}
