"""Fast-path benchmark (issue 5): the same files, the spec's SafeCSVConverter,
four ways, side by side in one run, and the floor under them.

  (a) a fresh python3.11 per file, no sandbox (what the spec documents)
  (b) convbox run --cold  (a fresh runner per file, fully isolated)
  (c) convbox run         (the zygote forks a fully isolated job per file)
  (d) convbox run --trusted (the zygote, no confinement)
  (e) the floor: a warm python3.11 that imported the converter forks a child
      per file, which converts, writes the JSON to a pipe and exits; no glue,
      no checks, no host, no confinement (build/fork_floor, bench/fork_floor.c)

(e) is no alternative to convbox (the converter's module runs in the parent,
which convbox never allows). It is there because these machines are shared
and their speed moves by tens of percent from minute to minute: (e) runs
alternated with (c) and (d), so a slow phase shows in all three, and the
ratio c/e is what convbox costs over the bare model it is built on.

Latency per conversion comes from a sequential run (--jobs 1): the gap
between consecutive result lines. Throughput comes from a run with --jobs
set to the number of CPUs: files per second over the whole run, start-up
included, and in steady state (first result to last). CPU per file is the
CPU time of every process of the run (host, zygote, jobs, their exits)
divided by the files; page faults per file count the same way, and unlike
time they hardly move with the machine's load, so they show a change in the
pages a job costs even when the timings cannot. (The pages the zygote holds,
pinned, are copied into each child inside fork: that is CPU, and no fault.)
Memory: each job's peak RSS (from the result), and the zygote's RSS, PSS and
held pages, sampled while it runs.

Throughput runs of (c), (d) and (e) are repeated (--repeat, alternated, default 3)
and the run of median length is shown: these machines are shared, and one run
can be 30 % off.

usage: python3.11 -I bench/zygote_bench.py [--files N] [--repeat N] [--convbox PATH]

To tell whether a change made convbox faster, compare two builds with
bench/ab_bench.py: alternated runs on the same files, and per-round ratios.
"""
import argparse
import json
import os
import resource
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
# the spec's SafeCSVConverter, verbatim (one copy, shared with the run tests)
SAFE_CSV = HERE.parent / "tests" / "integration" / "run" / "converters" / "safe_csv.py"


def make_inputs(folder, n):
    files = []
    for i in range(n):
        p = folder / ("unit_%05d.csv" % i)
        p.write_text("sn,value,unit\nSN%05d,%d.5,V\nSN%05d,2.5,V\n" % (i, i % 7, i))
        files.append(str(p))
    return files


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def children_faults():
    """Page faults of every finished descendant: each waits for its children, so jobs count."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt


def run_plain(files):
    lat = []
    t0 = time.perf_counter()
    for f in files:
        s = time.perf_counter()
        subprocess.run(["/usr/bin/python3.11", "-I", str(HERE / "plain_convert.py"),
                        str(SAFE_CSV), f], check=True, stdout=subprocess.DEVNULL)
        lat.append(time.perf_counter() - s)
    return lat, time.perf_counter() - t0


class RunnerSampler(threading.Thread):
    """Samples RSS/PSS of convbox-runner processes that are children of `parent`."""

    def __init__(self, parent):
        super().__init__(daemon=True)
        self.parent, self.stop, self.rss, self.pss, self.pinned = parent, False, 0, 0, 0

    def run(self):
        while not self.stop:
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    stat = pathlib.Path("/proc/%s/stat" % pid).read_text()
                    if "(convbox-runner)" not in stat or int(stat.split(") ")[1].split()[1]) != self.parent:
                        continue
                    roll = pathlib.Path("/proc/%s/smaps_rollup" % pid).read_text()
                    status = pathlib.Path("/proc/%s/status" % pid).read_text()
                except (OSError, IndexError, ValueError):
                    continue
                for line in status.splitlines():
                    if line.startswith("VmPin:"):
                        self.pinned = max(self.pinned, int(line.split()[1]))
                for line in roll.splitlines():
                    if line.startswith("Rss:"):
                        self.rss = max(self.rss, int(line.split()[1]))
                    if line.startswith("Pss:"):
                        self.pss = max(self.pss, int(line.split()[1]))
            time.sleep(0.05)


def run_convbox(convbox, files, extra, jobs):
    return run_lines([convbox, "run", str(SAFE_CSV)] + files + ["--jobs", str(jobs)] + extra,
                     len(files))


def run_floor(floor, files, jobs):
    return run_lines([floor, str(SAFE_CSV), "SafeCSVConverter", str(jobs)] + files, len(files))


def run_lines(cmd, n_files):
    """Runs a command that prints one JSON result per file, timing each line."""
    cpu0, faults0 = children_cpu(), children_faults()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    sampler = RunnerSampler(proc.pid)
    sampler.start()
    stamps, rss, ok = [], [], 0
    for line in proc.stdout:
        stamps.append(time.perf_counter())
        res = json.loads(line)
        ok += res.get("status") == "Success"
        rss.append(res.get("usage", {}).get("max_rss_kb", 0))
    proc.wait()
    total = time.perf_counter() - t0
    sampler.stop = True
    lat = [b - a for a, b in zip(stamps, stamps[1:])]
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return {"lat": lat, "total": total, "ok": ok, "rss": rss, "runner_rss": sampler.rss,
            "runner_pss": sampler.pss, "runner_pinned": sampler.pinned,
            "startup": stamps[0] - t0 if stamps else 0.0,
            "steady": steady, "cpu_ms": (children_cpu() - cpu0) * 1e3 / max(1, n_files),
            "faults": (children_faults() - faults0) / max(1, n_files)}


def row(name, lat, total, n, par=None):
    steady = "%9.1f %9.2f" % (par["steady"], par["cpu_ms"]) if par else "%9s %9s" % ("-", "-")
    print("%-34s %9.2f %9.2f %9.1f %s" % (name, statistics.median(lat) * 1e3,
                                          pct(lat, 0.9) * 1e3, n / total, steady))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--plain-files", type=int, default=200,
                    help="files for path (a) and (b), which are slow")
    ap.add_argument("--convbox", default=str(HERE.parent / "build" / "convbox"))
    ap.add_argument("--repeat", type=int, default=3,
                    help="throughput runs of (c) and (d), alternated; the median run is shown")
    args = ap.parse_args()
    floor = str(pathlib.Path(args.convbox).resolve().parent / "fork_floor")
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        files = make_inputs(pathlib.Path(tmp), args.files)
        few = files[: args.plain_files]
        print("files: %d (paths a and b: %d); CPUs: %d; load before: %s" %
              (len(files), len(few), cpus, os.getloadavg()[0]))
        a_lat, a_total = run_plain(few)
        b_seq = run_convbox(args.convbox, few, ["--cold"], 1)
        b_par = run_convbox(args.convbox, few, ["--cold"], cpus)
        c_seq = run_convbox(args.convbox, files, [], 1)
        d_seq = run_convbox(args.convbox, files, ["--trusted"], 1)
        e_seq = run_floor(floor, files, 1)
        c_runs, d_runs, e_runs = [], [], []
        for _ in range(max(1, args.repeat)):
            c_runs.append(run_convbox(args.convbox, files, [], cpus))
            d_runs.append(run_convbox(args.convbox, files, ["--trusted"], cpus))
            e_runs.append(run_floor(floor, files, cpus))
    for r, n in [(b_par, len(few))] + [(r, len(files)) for r in c_runs + d_runs + e_runs]:
        assert r["ok"] == n, "a conversion failed: %d of %d succeeded" % (r["ok"], n)
    # these machines are shared: the run of median length stands for the others
    c_par, d_par, e_par = (sorted(runs, key=lambda r: r["total"])[len(runs) // 2]
                           for runs in (c_runs, d_runs, e_runs))
    print("\n%-34s %9s %9s %9s %9s %9s" % ("path", "median ms", "p90 ms", "files/s",
                                            "steady/s", "CPU ms"))
    row("(a) python3.11 per file, no sandbox", a_lat, a_total, len(few))
    row("(b) convbox --cold (isolated)", b_seq["lat"], b_par["total"], len(few), b_par)
    row("(c) convbox zygote (isolated)", c_seq["lat"], c_par["total"], len(files), c_par)
    row("(d) convbox --trusted (zygote)", d_seq["lat"], d_par["total"], len(files), d_par)
    row("(e) floor: bare fork per file", e_seq["lat"], e_par["total"], len(files), e_par)
    print("(files/s: the whole run, start-up included; steady/s: first result to last;"
          " CPU ms: every process of the run, per file)")
    a_med, c_med, d_med = (statistics.median(x) for x in (a_lat, c_seq["lat"], d_seq["lat"]))
    print("\nratio a/c (median latency): %.1f   (goal: >= 15)" % (a_med / c_med))
    print("ratio c/d (isolation cost):  %.2f" % (c_med / d_med))
    print("zygote throughput: %.0f files/s with full isolation on %d CPUs, %.0f in steady state,"
          " start-up %.0f ms (goal: >= 500)" % (len(files) / c_par["total"], cpus, c_par["steady"],
                                                c_par["startup"] * 1e3))
    rates = sorted(len(files) / r["total"] for r in c_runs)
    print("  over %d runs (alternated with (d) and (e)): %s files/s; CPU per file %s ms" % (
        len(c_runs), " ".join("%.0f" % x for x in rates),
        " ".join("%.2f" % r["cpu_ms"] for r in sorted(c_runs, key=lambda r: r["cpu_ms"]))))
    print("  the floor (e) in the same rounds: %s files/s; CPU per file %s ms" % (
        " ".join("%.0f" % x for x in sorted(len(files) / r["total"] for r in e_runs)),
        " ".join("%.2f" % r["cpu_ms"] for r in sorted(e_runs, key=lambda r: r["cpu_ms"]))))
    ratios = sorted(c["cpu_ms"] / e["cpu_ms"] for c, e in zip(c_runs, e_runs))
    print("  CPU per file, c/e round by round: %s (what convbox costs over the bare model)" %
          " ".join("%.2f" % x for x in ratios))
    print("  page faults per file, every process of the run (the pages the kernel gave or"
          " copied on a fault): c %.0f, d %.0f, e %.0f" % tuple(statistics.median(r["faults"] for r in runs)
                                                for runs in (c_runs, d_runs, e_runs)))
    print("\nper-job peak RSS (median): %d kB isolated, %d kB trusted" %
          (statistics.median(c_par["rss"]), statistics.median(d_par["rss"])))
    print("zygote: RSS %d kB, PSS %d kB, held %d kB (pinned: each child's copy is made in fork);"
          " sampled while converting" %
          (c_par["runner_rss"], c_par["runner_pss"], c_par["runner_pinned"]))


if __name__ == "__main__":
    sys.exit(main())
