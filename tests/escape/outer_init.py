"""Outer cap of the escape suite: pid 1 of a pid namespace the harness made.

run_escape.py starts this file as the first process of a fresh pid (and
mount) namespace, e.g. `unshare --pid --fork --kill-child --mount-proc`.
It refuses to run anything unless it really is pid 1, because everything
below relies on that:

  * every process the case starts, however it daemonizes, is in this
    namespace: when this process exits, the kernel kills them all;
  * kill(-1) from a broken sandbox reaches only this namespace (pid 1
    ignores signals it has no handler for);
  * /proc (mounted for this namespace) lists exactly the case's processes,
    so "no process outlived the job" is a directory listing.

It starts a sentinel child (after burning a few hundred pids so that the
sentinel's pid is unlikely to exist inside the job's own pid namespace),
runs convbox with `--arg sentinel_pid=<pid>`, waits for it under a wall
timeout, then lists leftover processes, stops them and the sentinel by
their pid, and writes a JSON summary for the harness.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

UNCATCHABLE = {signal.SIGKILL, signal.SIGSTOP}


def sentinel_main(wfd):
    """Record every catchable signal as one byte on wfd, forever."""
    def record(signum, _frame):
        os.write(wfd, bytes([signum]))

    for signum in range(1, signal.NSIG):
        if signum in UNCATCHABLE or signum in (32, 33):
            continue
        try:
            signal.signal(signum, record)
        except (OSError, ValueError, RuntimeError):
            pass
    os.write(wfd, b"\0")  # ready
    while True:
        signal.pause()


def burn_pids(count):
    """Advance the namespace's pid counter with short-lived children."""
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)


def start_sentinel(floor):
    burn_pids(floor)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            sentinel_main(wfd)
        finally:
            os._exit(0)
    os.close(wfd)
    os.read(rfd, 1)  # wait until the handlers are in place
    os.set_blocking(rfd, False)
    return pid, rfd


def drain(rfd):
    got = b""
    while True:
        try:
            chunk = os.read(rfd, 4096)
        except BlockingIOError:
            break
        if not chunk:
            break
        got += chunk
    return [b for b in got]


def reap(known):
    """Reap every exited child; return {pid: status} for pids in known."""
    seen = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in known:
            seen[pid] = status
    return seen


def process_list(exclude):
    procs = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        if state in ("Z", "X"):
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        procs.append({"pid": pid, "state": state, "comm": comm, "cmdline": cmd.strip()[:200]})
    return procs


def wait_for_leftovers(exclude, grace):
    """Poll until only the excluded pids remain or grace seconds pass."""
    deadline = time.monotonic() + grace
    while True:
        reap(set())
        procs = process_list(exclude)
        if not procs or time.monotonic() >= deadline:
            return procs
        time.sleep(0.05)


def run_job(cmd, out_path, err_path, env, timeout):
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 env=env, close_fds=True)
        timed_out = False
        try:
            rc = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.kill(child.pid, signal.SIGKILL)
            rc = child.wait()
        return rc, timed_out, time.monotonic() - started


def parse_args(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--summary", required=True)
    p.add_argument("--stdout", required=True)
    p.add_argument("--stderr", required=True)
    p.add_argument("--timeout", type=float, required=True)
    p.add_argument("--pid-floor", type=int, default=300)
    p.add_argument("--grace", type=float, default=2.0)
    p.add_argument("--env", action="append", default=[])
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.cmd and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    return args


def main(argv):
    args = parse_args(argv)
    if os.getpid() != 1 or not os.path.isdir("/proc/1"):
        sys.stderr.write("outer_init: not pid 1 of a fresh pid namespace; refusing to run\n")
        return 70
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG": "C.UTF-8"}
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    sentinel, sig_rfd = start_sentinel(args.pid_floor)
    cmd = list(args.cmd) + ["--arg", f"sentinel_pid={sentinel}"]
    rc, timed_out, elapsed = run_job(cmd, args.stdout, args.stderr, env, args.timeout)
    leftovers = wait_for_leftovers({1, sentinel}, args.grace)
    for proc in leftovers:  # end them by their pid, never by group or -1
        try:
            os.kill(proc["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    time.sleep(0.05)
    ended = reap({sentinel})
    sentinel_alive = sentinel not in ended
    signals = drain(sig_rfd)
    if sentinel_alive:
        os.kill(sentinel, signal.SIGKILL)
    summary = {
        "rc": rc,
        "timed_out": timed_out,
        "elapsed": round(elapsed, 3),
        "leftovers": leftovers,
        "sentinel_pid": sentinel,
        "sentinel_alive": sentinel_alive,
        "sentinel_status": ended.get(sentinel),
        "signals": signals,
    }
    with open(args.summary, "w") as f:
        json.dump(summary, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
