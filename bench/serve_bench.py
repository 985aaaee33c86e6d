"""End-to-end throughput of `convbox serve` with the sandbox on: files dropped
into a watch folder until their report is in the spool as <id>.queued.

Three figures, with the bundled example converter (examples/converters/
csv_station.py) on copies of a bundled example input:

  backlog   N files already in the folder when the service starts: files per
            second from the start of the service to the last report spooled
            (start-up included), and over the conversions alone;
  stream    N files dropped as fast as the writer can while the service runs:
            files per second, and the latency of each file from its drop to
            its spooled report (median, 90th, 99th percentile);
  idle      one file at a time into an idle service: drop-to-spool latency;

and, for comparison, `convbox run --jobs W` on the same N files (no folder
watching, no spool, no post action).

Usage: /usr/bin/python3.11 -I bench/serve_bench.py [--convbox build/convbox]
       [--files 1000] [--workers CPUs] [--idle 20]
Prints its figures; asserts nothing.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONVERTER = os.path.join(ROOT, "examples", "converters", "csv_station.py")
SAMPLE = os.path.join(ROOT, "examples", "drop", "unit_1001.csv")


def sample_body(i):
    text = open(SAMPLE).read()
    return text.replace("SN-1001", "SN-B%06d" % i)


def write_config(root, workers):
    cfg = {"reports_folder": "spool", "workers": workers, "machineName": "BENCH",
           "rescan_seconds": 5, "settle_seconds": 0.2,
           "converters": [{"name": "csv", "path": CONVERTER, "watch_folder": "in",
                           "file_patterns": ["*.csv"], "priority": 5,
                           "arguments": {"revision": "B"}}]}
    path = os.path.join(root, "station.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def spooled(root):
    d = os.path.join(root, "spool")
    return [n for n in os.listdir(d) if n.endswith(".queued")] if os.path.isdir(d) else []


def wait_count(root, n, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if len(spooled(root)) >= n:
            return time.time()
        time.sleep(0.002)
    raise SystemExit("timed out: %d of %d reports after %ss" % (len(spooled(root)), n, timeout))


def drop(root, name, body):
    tmp = os.path.join(root, "in", "." + name)
    with open(tmp, "w") as f:
        f.write(body)
    os.rename(tmp, os.path.join(root, "in", name))
    return time.time()


def start(convbox, cfg, log):
    return subprocess.Popen([convbox, "serve", "--config", cfg, "--log-level", "warning"],
                            stdout=subprocess.DEVNULL, stderr=log)


def stop(proc):
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(60)


def spool_times(root):
    """Report serial number -> time its .queued file appeared (mtime)."""
    out = {}
    d = os.path.join(root, "spool")
    for n in spooled(root):
        p = os.path.join(d, n)
        out[json.load(open(p))["sn"]] = os.stat(p).st_mtime_ns / 1e9
    return out


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_backlog(convbox, n, workers, log):
    root = tempfile.mkdtemp(prefix="cvb-bench-backlog-")
    cfg = write_config(root, workers)
    os.makedirs(os.path.join(root, "in"))
    for i in range(n):
        drop(root, "unit_%06d.csv" % i, sample_body(i))
    t0 = time.time()
    proc = start(convbox, cfg, log)
    t1 = wait_count(root, n, 600)
    stop(proc)
    times = sorted(spool_times(root).values())
    first, last = times[0], times[-1]
    shutil.rmtree(root)
    print("backlog: %d files, %d workers: %.1f files/s from service start (%.2f s), "
          "%.1f files/s from first to last report" %
          (n, workers, n / (t1 - t0), t1 - t0, (n - 1) / max(last - first, 1e-9)))


def bench_stream(convbox, n, workers, log):
    root = tempfile.mkdtemp(prefix="cvb-bench-stream-")
    cfg = write_config(root, workers)
    os.makedirs(os.path.join(root, "in"))
    proc = start(convbox, cfg, log)
    time.sleep(1.0)  # the converter validated and its zygote up
    dropped = {}
    t0 = time.time()
    for i in range(n):
        dropped["SN-B%06d" % i] = drop(root, "unit_%06d.csv" % i, sample_body(i))
    t1 = wait_count(root, n, 600)
    stop(proc)
    done = spool_times(root)
    lat = [done[sn] - t for sn, t in dropped.items()]
    shutil.rmtree(root)
    print("stream:  %d files, %d workers: %.1f files/s (drops took %.2f s); drop-to-spool "
          "latency median %.1f ms, p90 %.1f ms, p99 %.1f ms" %
          (n, workers, n / (t1 - t0), max(dropped.values()) - t0,
           1000 * statistics.median(lat), 1000 * pct(lat, 0.9), 1000 * pct(lat, 0.99)))


def bench_idle(convbox, n, workers, log):
    root = tempfile.mkdtemp(prefix="cvb-bench-idle-")
    cfg = write_config(root, workers)
    os.makedirs(os.path.join(root, "in"))
    proc = start(convbox, cfg, log)
    time.sleep(1.0)
    lat = []
    for i in range(n):
        t = drop(root, "unit_%06d.csv" % i, sample_body(i))
        lat.append(wait_count(root, i + 1, 60) - t)
        time.sleep(0.05)
    stop(proc)
    shutil.rmtree(root)
    print("idle:    %d files one at a time: drop-to-spool latency median %.1f ms, "
          "max %.1f ms" % (n, 1000 * statistics.median(lat), 1000 * max(lat)))


def bench_run(convbox, n, workers):
    root = tempfile.mkdtemp(prefix="cvb-bench-run-")
    paths = []
    for i in range(n):
        p = os.path.join(root, "unit_%06d.csv" % i)
        with open(p, "w") as f:
            f.write(sample_body(i))
        paths.append(p)
    t0 = time.time()
    subprocess.run([convbox, "run", CONVERTER] + paths + ["--jobs", str(workers),
                                                          "--arg", "revision=B"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = time.time()
    shutil.rmtree(root)
    print("compare: convbox run --jobs %d on the same %d files: %.1f files/s" %
          (workers, n, n / (t1 - t0)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--convbox", default=os.path.join(ROOT, "build", "convbox"))
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--idle", type=int, default=20)
    a = ap.parse_args()
    log = open(os.devnull, "w")
    print("convbox serve benchmark: %s, %d CPUs, load average %.2f" %
          (a.convbox, os.cpu_count() or 0, os.getloadavg()[0]))
    bench_backlog(a.convbox, a.files, a.workers, log)
    bench_stream(a.convbox, a.files, a.workers, log)
    bench_idle(a.convbox, a.idle, a.workers, log)
    bench_run(a.convbox, a.files, a.workers)


if __name__ == "__main__":
    sys.exit(main())
