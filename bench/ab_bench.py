"""Two builds of convbox side by side: a paired A/B on the same files.

On a shared machine the speed of one binary moves by 10-30 % from one minute
to the next, so two benchmark runs made apart say little about a change.
This runs `convbox run` of build A and of build B in alternation (ABBA...),
round after round, on the same inputs and converter, and prints per build
the CPU per file (every process of the run) and the files per second, and
for B against A the median and range of the per-round ratios. A change is
worth claiming when the median ratio stays on one side of 1 over enough
rounds (the range shows how wide the noise is).

usage: python3.11 -I bench/ab_bench.py A/convbox B/convbox
           [--rounds N] [--files N] [--jobs N] [--converter PATH] [-- EXTRA ARGS]

Each convbox finds its runner beside itself, so A and B are two build
folders (or copies of build/convbox and build/convbox-runner).
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from zygote_bench import SAFE_CSV, make_inputs  # noqa: E402  (same inputs, same converter)


def one_run(convbox, converter, files, jobs, extra):
    """CPU per file (ms, all processes of the run) and files per second."""
    t0 = time.perf_counter()
    p = subprocess.Popen([convbox, "run", converter] + files + ["--jobs", str(jobs)] + extra,
                         stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        sys.exit("%s exited with status %d" % (convbox, status))
    return (ru.ru_utime + ru.ru_stime) / len(files) * 1e3, len(files) / wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", help="convbox of build A (the baseline)")
    ap.add_argument("b", help="convbox of build B (the change)")
    ap.add_argument("--rounds", type=int, default=10, help="runs of each build (default 10)")
    ap.add_argument("--files", type=int, default=1000, help="inputs per run (default 1000)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="--jobs of each run (default: the number of CPUs)")
    ap.add_argument("--converter", default=str(SAFE_CSV),
                    help="converter (default: the spec's SafeCSVConverter)")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []  # more options for both runs
    args = ap.parse_args(argv[:len(argv) - len(extra) - (1 if "--" in argv else 0)])
    for c in (args.a, args.b):
        if not os.access(c, os.X_OK):
            sys.exit("not an executable: %s" % c)
    with tempfile.TemporaryDirectory(prefix="convbox-ab-") as tmp:
        files = make_inputs(pathlib.Path(tmp), args.files)
        runs = {"A": [], "B": []}
        for r in range(args.rounds):
            for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
                path = args.a if name == "A" else args.b
                runs[name].append(one_run(path, args.converter, files, args.jobs, extra))
            if sys.stderr.isatty():
                print("round %d/%d" % (r + 1, args.rounds), file=sys.stderr, end="\r")
    print("%d rounds of %d files, --jobs %d%s, alternated (ABBA...)"
          % (args.rounds, args.files, args.jobs, "".join(" " + e for e in extra)))
    for name, path in (("A", args.a), ("B", args.b)):
        cpu = [c for c, _ in runs[name]]
        thr = [t for _, t in runs[name]]
        print("%s %-40s CPU ms/file median %.2f [%.2f..%.2f]   files/s median %.0f [%.0f..%.0f]"
              % (name, path, statistics.median(cpu), min(cpu), max(cpu), statistics.median(thr),
                 min(thr), max(thr)))
    cpu_r = [b[0] / a[0] for a, b in zip(runs["A"], runs["B"])]
    thr_r = [b[1] / a[1] for a, b in zip(runs["A"], runs["B"])]
    print("B/A per round: CPU per file median %.3f [%.3f..%.3f]   files/s median %.3f [%.3f..%.3f]"
          % (statistics.median(cpu_r), min(cpu_r), max(cpu_r), statistics.median(thr_r),
             min(thr_r), max(thr_r)))


if __name__ == "__main__":
    main()
