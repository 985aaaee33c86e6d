"""Non-ASCII everywhere: identifiers, strings, comments (Prüfstand, 測試, Ωhm)."""

import csv
from datetime import datetime, timezone

EINHEITEN = {"Ω": "Ohm", "°C": "degC", "µA": "uA"}


class UnicodeConverter:
    name = "UnicodeConverter"
    file_patterns = ["*.csv"]

    def convert_file(self, file_path, args):
        schritte = []
        with file_path.open(encoding="utf-8", newline="") as datei:
            for zeile in csv.DictReader(datei):
                wert = float(zeile["Wert"])
                größe = EINHEITEN.get(zeile["Einheit"], zeile["Einheit"])
                schritte.append({"stepType": "ET_NLT", "name": zeile["Prüfung"], "group": "M",
                                 "status": "P",
                                 "numericMeas": [{"status": "P", "value": wert, "unit": größe,
                                                  "compOp": "LOG"}]})
        # 測試結果: alle bestanden
        return {"status": "Success", "report": {
            "type": "T", "pn": "PN-ÜMLAUT", "sn": "Ü-1", "rev": "1", "processCode": 10,
            "result": "P", "start": datetime(2024, 1, 2, tzinfo=timezone.utc).isoformat(),
            "root": {"stepType": "SequenceCall", "name": "Prüfstand", "status": "P",
                     "seqCall": {"path": "ü", "name": "Prüfstand", "version": "1"},
                     "steps": schritte}}}
