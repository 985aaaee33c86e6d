"""Print the validator benchmark's table (called by bench/validate_bench.sh).

    python3.11 -I summarize.py WORKDIR VALIDATOR_LOOP_S VALIDATOR_WALL_S BANDIT_WALL_S

WORKDIR holds corpus/ (with manifest.tsv), validator.out (validate_files
--print output) and bandit.json. Times are medians in seconds.
"""

import json
import os
import pathlib
import sys


def flagged_by_validator(path):
    flagged = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, findings = line.partition(": [")
        if not sep:
            continue
        if any(f["severity"] == "error" for f in json.loads("[" + findings)):
            flagged.add(os.path.basename(name))
    return flagged


def flagged_by_bandit(path):
    results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    anything = {os.path.basename(r["filename"]) for r in results}
    serious = {os.path.basename(r["filename"]) for r in results
               if r["issue_severity"] in ("MEDIUM", "HIGH")}
    return anything, serious


def count(flagged, names):
    return f"{len(flagged & names)}/{len(names)}"


def main(argv):
    work = pathlib.Path(argv[0])
    loop_s, wall_s, bandit_s = (float(x) for x in argv[1:4])
    kinds = {}
    for line in (work / "corpus" / "manifest.tsv").read_text().splitlines():
        name, kind = line.split("\t")
        kinds.setdefault(kind, set()).add(name)
    files = sum(len(v) for v in kinds.values())
    size = sum(p.stat().st_size for p in (work / "corpus").glob("*.py"))
    mb = size / 1e6
    honest, hostile = kinds.get("honest", set()), kinds.get("hostile", set())
    ours = flagged_by_validator(work / "validator.out")
    bandit_any, bandit_serious = flagged_by_bandit(work / "bandit.json")

    print(f"corpus: {files} files, {mb:.2f} MB ({len(honest)} honest variants, "
          f"{len(hostile)} hostile); {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'':36}{'files/s':>10}{'MB/s':>10}{'seconds':>10}")
    rows = [("convbox validator, validation loop", loop_s),
            ("convbox validator, whole process", wall_s),
            ("bandit, whole process", bandit_s)]
    for label, secs in rows:
        print(f"{label:36}{files / secs:10.1f}{mb / secs:10.3f}{secs:10.3f}")
    print(f"ratio validator/bandit (whole process): {bandit_s / wall_s:.1f}x faster")
    print(f"{'files flagged':36}{'honest':>10}{'hostile':>10}")
    print(f"{'  convbox validator (error)':36}{count(ours, honest):>10}{count(ours, hostile):>10}")
    print(f"{'  bandit (any issue)':36}{count(bandit_any, honest):>10}"
          f"{count(bandit_any, hostile):>10}")
    print(f"{'  bandit (medium or high)':36}{count(bandit_serious, honest):>10}"
          f"{count(bandit_serious, hostile):>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
