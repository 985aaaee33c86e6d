"""Jobs forked from one zygote share nothing: module state, builtins,
sys.modules, patched stdlib modules, environment, temp and output files,
and memory all start fresh for every file. Runs through the zygote and
through --cold, and as given by --convbox."""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
CONVBOX = None


def run(inputs, *extra):
    out = tempfile.mkdtemp()
    cmd = [CONVBOX, "run", str(HERE / "leaky_converter.py")] + inputs + [
        "--cap", "FILE_TEMP", "--output-dir", out, "--jobs", "1",
        "--skip-validation"] + list(extra)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    lines = [json.loads(l) for l in proc.stdout.splitlines()]
    return proc, lines, out


class Isolation(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.inputs = []
        for i in range(6):
            p = pathlib.Path(self.tmp.name) / ("file%d.csv" % i)
            p.write_text("x\n")
            self.inputs.append(str(p))

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, *extra):
        proc, lines, out = run(self.inputs, *extra)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(lines), len(self.inputs))
        pids = set()
        for line in lines:
            self.assertEqual(line["outcome"], "completed", line)
            found = line["report"]["found"]
            self.assertEqual(found["counter"], 0, line["input"])
            self.assertIsNone(found["builtins"], line["input"])
            self.assertFalse(found["sys_modules"], line["input"])
            self.assertIsNone(found["json_patched"], line["input"])
            self.assertIsNone(found["env"], line["input"])
            self.assertEqual(found["tmp"], [], line["input"])
            self.assertEqual(found["output"], [], line["input"])
            pids.add(found["pid"])
        # Each job is init of its own pid namespace.
        self.assertEqual(pids, {1})
        # And every job's own output was collected, each under its own name.
        self.assertEqual(sorted(os.listdir(out)),
                         sorted("out-" + pathlib.Path(p).name for p in self.inputs))

    def test_zygote_jobs_share_nothing(self):
        self.check()

    def test_cold_jobs_share_nothing(self):
        self.check("--cold")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--convbox", required=True)
    args, rest = ap.parse_known_args()
    CONVBOX = args.convbox
    unittest.main(argv=[sys.argv[0]] + rest)
