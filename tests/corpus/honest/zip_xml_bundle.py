"""A zip holding manifest.json and one XML result per UUT."""

import json
import zipfile
import xml.etree.ElementTree as ET


class ZipXmlBundleConverter:
    name = "ZipXmlBundleConverter"
    file_patterns = ["*.zip"]

    def convert_file(self, file_path, args):
        with zipfile.ZipFile(file_path, "r") as archive:
            manifest = json.loads(archive.read("manifest.json"))
            reports = []
            for entry in manifest["results"]:
                node = ET.fromstring(archive.read(entry["file"]))
                reports.append(self._report(node, manifest, entry))
        return {"status": "Success", "reports": reports,
                "metadata": {"batch": manifest["batch"], "count": len(reports)}}

    @staticmethod
    def _report(node, manifest, entry):
        steps = []
        for test in node.findall("./test"):
            ok = test.get("status") == "pass"
            steps.append({"stepType": "ET_PFT", "name": test.get("name"), "group": "M",
                          "status": "P" if ok else "F",
                          "booleanMeas": [{"status": "P" if ok else "F"}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        return {"type": "T", "pn": manifest["pn"], "sn": entry["sn"], "rev": manifest["rev"],
                "processCode": manifest["process"], "result": result,
                "start": entry["start"], "uut": {"batchSN": manifest["batch"]},
                "root": {"stepType": "SequenceCall", "name": "Bundle", "status": result,
                         "seqCall": {"path": entry["file"], "name": "Bundle", "version": "1"},
                         "steps": steps}}
