"""Builds a report of at least `mb` MiB (default 20) with floats and non-ASCII text.

The test loads this file too and calls build_report() to know, byte for byte,
what the converter returned.
"""

import json

TEXTS = ["Ωhm µV 測試 ✓ naïve café", "emoji 😀🔧", "quote \" backslash \\ tab \t nl \n",
         "ctrl \u0001\u001f", "ascii plain"]
FLOATS = [0.1, 0.2, 0.30000000000000004, 1 / 3, 2.5e-7, 1e300, -0.0, 123456789.125, 5e-324]


def _row(i):
    return {
        "stepType": "ET_NLT",
        "name": "step %d %s" % (i, TEXTS[i % len(TEXTS)]),
        "numericMeas": [{"value": FLOATS[i % len(FLOATS)] * (i + 1), "lowLimit": 0.1,
                         "highLimit": FLOATS[(i + 3) % len(FLOATS)], "unit": "µV"}],
        "ok": i % 3 != 0,
        "note": None,
        "pad": "ß" * 40 + "x" * 40,
    }


def build_report(mb=20, tag="single"):
    target = int(mb * 1024 * 1024)
    steps = []
    size = 0
    i = 0
    while size < target:
        row = _row(i)
        steps.append(row)
        size += len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        i += 1
    return {"id": "c0ffee00-0000-4000-8000-%012d" % len(tag), "pn": "PN-Ø1", "sn": tag,
            "root": {"stepType": "SequenceCall", "steps": steps}}


class BigReportConverter:
    def convert_file(self, file_path, args):
        mb = float(args.get("mb", 20))
        if args.get("mode") == "reports":
            n = int(args.get("count", 3))
            reports = [build_report(mb / n, "part%d" % k) for k in range(n)]
            return {"status": "Success", "reports": reports}
        return {"status": "Success", "report": build_report(mb)}
