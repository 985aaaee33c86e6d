"""Unpacks a zip into a private temp folder first (FILE_TEMP), then parses."""

import logging
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)


class TempUnzipConverter:
    name = "TempUnzipConverter"
    file_patterns = ["*.zip"]

    def convert_file(self, file_path, args):
        with tempfile.TemporaryDirectory(prefix="conv-") as tmp:
            workdir = Path(tmp)
            with zipfile.ZipFile(file_path) as archive:
                for name in archive.namelist():
                    target = (workdir / name).resolve()
                    if workdir.resolve() not in target.parents:
                        return {"status": "Rejected", "error": f"unsafe member {name}"}
                archive.extractall(workdir)
            log.info("extracted %d files", len(list(workdir.rglob("*"))))
            summary = (workdir / "summary.txt").read_text().splitlines()
            fields = dict(line.split(":", 1) for line in summary if ":" in line)
            steps = []
            for path in sorted((workdir / "steps").glob("*.txt")):
                value = float(path.read_text().strip())
                steps.append({"stepType": "ET_NLT", "name": path.stem, "group": "M",
                              "status": "P",
                              "numericMeas": [{"status": "P", "value": value, "unit": "",
                                               "compOp": "LOG"}]})
        return {"status": "Success", "report": {
            "type": "T", "pn": fields["pn"].strip(), "sn": fields["sn"].strip(), "rev": "1",
            "processCode": 10, "result": "P", "start": fields["start"].strip(),
            "root": {"stepType": "SequenceCall", "name": "Unzipped", "status": "P",
                     "seqCall": {"path": "tmp", "name": "Unzipped", "version": "1"},
                     "steps": steps}}}
