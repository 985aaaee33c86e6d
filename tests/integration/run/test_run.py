"""Integration tests of `convbox run`, through its command line only.

Run with Debian's interpreter in isolated mode, from anywhere:

    /usr/bin/python3.11 -I tests/integration/run/test_run.py --convbox build/convbox
        [--jobs N] [-k PATTERN]... [-v | -q]

The binary may also be named by the environment variable CONVBOX. Converter
fixtures live in converters/, inputs in inputs/; every command runs with this
directory as its working directory, so `input` in a result line is the
relative path given (e.g. "inputs/units.csv").

Every convbox command the selected tests need is a "scenario": a function
that runs one or more commands and returns what they did. All scenarios are
started up front on a thread pool (they are independent processes), and each
test then waits for its own scenarios and checks them. Scratch files (output
folders, configs) go to a private temporary directory removed at the end.
"""

import argparse
import concurrent.futures
import json
import os
import re
import resource
import runpy
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CONVBOX = os.environ.get("CONVBOX")
WORK = None
JOBS = max(4, min(8, 2 * (os.cpu_count() or 2)))

# Exit code of `convbox run` for a single input, by outcome (completed: 0 for
# Success, 1 for any other status).
EXIT = {
    "converter_error": 1,
    "security": 3,
    "timeout": 4,
    "cpu_limit": 5,
    "memory_limit": 5,
    "output_limit": 5,
    "crashed": 6,
    "protocol": 6,
    "sandbox_error": 6,
}
STATUSES = ("Success", "Failed", "Suspended", "Skipped", "Rejected")
MIB = 1024 * 1024


def conv(name):
    return os.path.join("converters", name)


def inp(name):
    return os.path.join("inputs", name)


# ---------------------------------------------------------------------------
# Running convbox


class Run:
    """One finished `convbox run` command."""

    def __init__(self, argv, rc, out, err, elapsed):
        self.argv = argv
        self.rc = rc
        self.out = out  # bytes
        self.err = err.decode("utf-8", "replace")
        self.elapsed = elapsed

    @property
    def text(self):
        return self.out.decode("utf-8")  # strict: stdout must be valid UTF-8

    @property
    def lines(self):
        return self.text.splitlines()

    @property
    def results(self):
        return [json.loads(line) for line in self.lines]

    @property
    def result(self):
        lines = self.lines
        if len(lines) != 1:
            raise AssertionError("expected exactly one result line, got %d\n%s" %
                                 (len(lines), self.describe()))
        return json.loads(lines[0])

    def describe(self):
        out = self.out[:3000].decode("utf-8", "replace")
        if len(self.out) > 3000:
            out += "... [%d bytes]" % len(self.out)
        return "command: %s\nexit: %s\nstdout: %s\nstderr: %s" % (
            " ".join(os.fsdecode(a) for a in self.argv[1:]), self.rc, out, self.err[:3000])


def convbox(*args, timeout=150, cwd=None):
    argv = [CONVBOX, "run", *args]
    start = time.monotonic()
    try:
        p = subprocess.run(argv, cwd=cwd or HERE, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("convbox did not finish within %s s: %s" % (timeout, " ".join(args)))
    return Run(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - start)


def work():
    """The suite's private temp dir."""
    global WORK
    with _LOCK:
        if WORK is None:
            WORK = tempfile.mkdtemp(prefix="convbox-run-tests-")
            os.chmod(WORK, 0o755)
    return WORK


def scratch(*parts):
    """A fresh directory under the suite's private temp dir."""
    path = os.path.join(work(), *parts) if parts else tempfile.mkdtemp(dir=work())
    os.makedirs(path, exist_ok=True)
    return path


def write_config(obj, name=None):
    path = os.path.join(scratch(), name or "config.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def list_files(root):
    found = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                found[os.path.relpath(p, root)] = fh.read()
    return found


def procs_with_argv0(marker):
    """PIDs whose argv[0] is exactly `marker` (convbox's own argv only contains it in --arg)."""
    want = marker.encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv0 = f.read().split(b"\0", 1)[0]
        except OSError:
            continue
        if argv0 == want:
            pids.append(int(entry))
    return pids


# ---------------------------------------------------------------------------
# Raw JSON slicing: the exact text of a member of the result line.

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(s, i):
    return _WS.match(s, i).end()


def raw_members(text):
    """{key: raw text of its value} for a JSON object, without re-serialising."""
    i = _skip(text, 0)
    assert text[i] == "{", "not a JSON object"
    i = _skip(text, i + 1)
    members = {}
    if text[i] == "}":
        return members
    while True:
        assert text[i] == '"', "expected a key at %d" % i
        key, i = json.decoder.scanstring(text, i + 1)
        i = _skip(text, i)
        assert text[i] == ":"
        i = _skip(text, i + 1)
        _, end = _DECODER.raw_decode(text, i)
        members[key] = text[i:end]
        i = _skip(text, end)
        if text[i] == "}":
            return members
        assert text[i] == ","
        i = _skip(text, i + 1)


def raw_elements(text):
    """Raw texts of the elements of a JSON array."""
    i = _skip(text, 0)
    assert text[i] == "["
    i = _skip(text, i + 1)
    items = []
    if text[i] == "]":
        return items
    while True:
        _, end = _DECODER.raw_decode(text, i)
        items.append(text[i:end])
        i = _skip(text, end)
        if text[i] == "]":
            return items
        assert text[i] == ","
        i = _skip(text, i + 1)


def compact(obj):
    """The converter's report as JSON text: compact, UTF-8, no ASCII escaping."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------------------
# Scenarios

SCENARIOS = {}
_FUTURES = {}
_POOL = None
_LOCK = threading.Lock()


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


def simple(name, *args, **kw):
    """A scenario that is one convbox command."""
    SCENARIOS[name] = lambda: convbox(*args, **kw)


DURATIONS = {}


def _timed(name):
    start = time.monotonic()
    try:
        return SCENARIOS[name]()
    finally:
        DURATIONS[name] = time.monotonic() - start


def submit(names):
    global _POOL
    with _LOCK:
        if _POOL is None:
            _POOL = concurrent.futures.ThreadPoolExecutor(max_workers=JOBS)
        for n in names:
            if n not in _FUTURES:
                _FUTURES[n] = _POOL.submit(_timed, n)


def get(name):
    submit([name])
    return _FUTURES[name].result()


def uses(*names):
    """Declares the scenarios a test needs, so they can be started early."""
    for n in names:
        if n not in SCENARIOS:
            raise KeyError("no scenario " + n)

    def mark(fn):
        fn.scenarios = names
        return fn

    return mark


# Slow scenarios first, so they overlap with everything else.
@scenario
def timeout_child():
    """A sleeping converter whose child ignores SIGTERM; --timeout 2."""
    marker = "cvbtest-hang-%s" % uuid.uuid4().hex
    argv = [CONVBOX, "run", conv("hang_child.py"), inp("plain.txt"), "--skip-validation",
            "--cap", "SHELL_EXECUTE", "--max-procs", "4", "--timeout", "2",
            "--arg", "marker=" + marker]
    start = time.monotonic()
    p = subprocess.Popen(argv, cwd=HERE, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    box = {}
    reader = threading.Thread(target=lambda: box.update(zip(("out", "err"), p.communicate())))
    reader.start()
    seen = set()
    while p.poll() is None and time.monotonic() - start < 60:
        seen.update(procs_with_argv0(marker))
        time.sleep(0.05)
    if p.poll() is None:
        p.kill()
    p.wait()
    elapsed = time.monotonic() - start
    left = procs_with_argv0(marker)  # right when convbox has exited
    reader.join()
    left_later = []
    if left:
        time.sleep(2)
        left_later = procs_with_argv0(marker)
        for pid in left_later:  # do not leave our own debris behind
            try:
                os.kill(pid, 9)
            except OSError:
                pass
    run = Run(argv, p.returncode, box.get("out", b""), box.get("err", b""), elapsed)
    return {"run": run, "seen": sorted(seen), "left": left, "left_after_2s": left_later}


simple("cpu_spin", conv("spin.py"), inp("plain.txt"), "--cpu", "1", "--timeout", "60")
# The C stack overflow needs a bounded stack: main() caps it at 8 MiB.
simple("segfault", conv("segfault.py"), inp("plain.txt"), "--arg", "depth=300000",
       "--timeout", "60")
simple("big_report", conv("big_report.py"), inp("plain.txt"), "--arg", "mb=20", "--timeout", "120")
simple("big_reports", conv("big_report.py"), inp("plain.txt"), "--arg", "mode=reports",
       "--arg", "mb=21", "--arg", "count=3", "--timeout", "120")
simple("chatty", conv("chatty.py"), inp("plain.txt"), "--timeout", "120")
simple("big_int", conv("big_int.py"), inp("plain.txt"))
simple("report_over_max_frame", conv("big_report.py"), inp("plain.txt"), "--arg", "mb=2",
       "--max-frame", "1", "--timeout", "60")
# four reports of 0.75 MiB, each a frame under 1 MiB: together over it
simple("reports_over_max_frame", conv("big_report.py"), inp("plain.txt"), "--arg", "mode=reports",
       "--arg", "mb=3", "--arg", "count=4", "--max-frame", "1", "--timeout", "60")

simple("safe_csv", conv("safe_csv.py"), inp("units.csv"), "--arg", "part_number=PN-001")
simple("safe_csv_no_args", conv("safe_csv.py"), inp("units.csv"))
simple("safe_csv_args_json", conv("safe_csv.py"), inp("units.csv"), "--args-json",
       '{"part_number": "PN-Ω-7", "unused": [1, 2]}')
simple("safe_csv_utf8", conv("safe_csv.py"), inp("units_utf8.csv"), "--arg", "part_number=PN-001")
simple("safe_csv_utf8_name", conv("safe_csv.py"), inp("Prüfprotokoll µ 1.csv"),
       "--arg", "part_number=PN-001")
simple("object_form", conv("object_form.py"), inp("keyvalue.txt"))
simple("object_form_reports", conv("object_form.py"), inp("keyvalue.txt"), "--arg", "multi=true")
simple("caps_read_only", conv("env_probe.py"), inp("plain.txt"), "--no-default-caps",
       "--cap", "read_input", "--arg", "stderr=1")
simple("caps_none", conv("env_probe.py"), inp("plain.txt"), "--no-default-caps")
simple("object_form_rejected", conv("object_form.py"), inp("keyvalue.txt"), "--arg", "status=rejected")
simple("context_form", conv("context_form.py"), inp("lines.txt"), "--arg", "station=ST-9",
       "--arg", "count=3")
simple("context_form_values", conv("context_form.py"), inp("lines.txt"), "--arg", "station=007",
       "--arg", 'count={"a":[1,2.5,true,null],"b":"x=y"}')

STATUS_CASES = []
for _canon in STATUSES:
    for _form, _value in (("upper", _canon.upper()), ("lower", _canon.lower()),
                          ("mixed", "".join(c.upper() if k % 2 else c.lower()
                                            for k, c in enumerate(_canon))),
                          ("enum", _canon.lower())):
        _name = "status_%s_%s" % (_canon.lower(), _form)
        _extra = ("--arg", "as_enum=true") if _form == "enum" else ()
        simple(_name, conv("status_echo.py"), inp("plain.txt"), "--arg", "status=" + _value, *_extra)
        STATUS_CASES.append((_name, _canon, _value, _form))

simple("raises", conv("raises.py"), inp("plain.txt"))
for _mode in ("none", "no_status", "unknown_status", "set_report", "object_report", "nan_report"):
    simple("bad_result_" + _mode, conv("bad_results.py"), inp("plain.txt"), "--arg", "mode=" + _mode)
simple("stdio", conv("stdio.py"), inp("plain.txt"))
for _cls in ("FromDatetime", "FromCModule"):
    simple("dates_" + _cls, conv("dates.py"), inp("plain.txt"), "--class", _cls,
           "--skip-validation")
for _mode in ("", "--cold"):
    for _cls in ("ByBuiltName", "ByContext"):
        simple("log_unnamed_%s%s" % (_cls, _mode.replace("-", "_")), conv("log_unnamed.py"),
               inp("plain.txt"), "--class", _cls, "--skip-validation", "--cap", "LOG_DEBUG",
               *([_mode] if _mode else []))
simple("bad_bytes_raise", conv("bad_bytes.py"), inp("plain.txt"), "--arg", "mode=raise")
simple("bad_bytes_ok", conv("bad_bytes.py"), inp("plain.txt"))
simple("long_log_line", conv("bad_bytes.py"), inp("plain.txt"), "--arg", "mode=long_line")

simple("memory_4g", conv("big_alloc.py"), inp("plain.txt"), "--timeout", "60")
simple("memory_chunks", conv("big_alloc.py"), inp("plain.txt"), "--arg", "mode=chunks",
       "--timeout", "60")
simple("aborts", conv("aborts.py"), inp("plain.txt"), "--timeout", "60")
simple("protocol_garbage", conv("hostile_frames.py"), inp("plain.txt"), "--skip-validation",
       "--arg", "mode=garbage", "--timeout", "30")
simple("protocol_oversized", conv("hostile_frames.py"), inp("plain.txt"), "--skip-validation",
       "--arg", "mode=oversized", "--timeout", "30")
simple("security_validator", conv("uses_socket.py"), inp("plain.txt"))
simple("security_runtime", conv("uses_socket.py"), inp("plain.txt"), "--skip-validation")


def runner_wrapper(name, body):
    """A copy of convbox in a folder of its own, whose convbox-runner is a shell
    wrapper: it numbers its starts (start 1 is the layer probe at open, the
    next ones are the jobs' runners, in --cold mode), writes its pid to pid.N
    and runs `body`, in which $i is the number, $here the folder and $real the
    real runner. Returns the folder."""
    d = scratch(name)
    real = os.path.join(os.path.dirname(os.path.realpath(CONVBOX)), "convbox-runner")
    shutil.copy2(CONVBOX, os.path.join(d, "convbox"))
    wrapper = os.path.join(d, "convbox-runner")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\n'
                'here=${0%%/*}\n'
                'real=%s\n'
                'i=1\n'
                'while ! mkdir "$here/start.$i" 2>/dev/null; do i=$((i + 1)); done\n'
                'echo $$ > "$here/pid.$i.tmp" && mv "$here/pid.$i.tmp" "$here/pid.$i"\n'
                '%s' % (shlex.quote(real), body))
    os.chmod(wrapper, 0o755)
    return d


def run_watching_runners(d, *args, timeout=150):
    """Runs the convbox of runner_wrapper folder `d`, watching each start's
    process (by the pid it wrote) through a pidfd. Returns the Run, when each
    start's process ended (time.time(), by start number), the starts still
    alive once convbox had exited (killed then), and when convbox exited."""
    argv = [os.path.join(d, "convbox"), "run", *args]
    mark = os.fsencode(d)
    fds, ended, ignored = {}, {}, set()

    def look():
        for name in os.listdir(d):
            k = name[4:]
            if not name.startswith("pid.") or k.endswith(".tmp") or k in fds or k in ignored:
                continue
            try:
                with open(os.path.join(d, name)) as f:
                    pid = int(f.read())
                fd = os.pidfd_open(pid)
            except (OSError, ValueError):
                ignored.add(k)  # already gone
                continue
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmdline = f.read()
            except OSError:
                cmdline = None
            if cmdline == b"":
                # read in the middle of the wrapper's exec (or a zombie): look again
                os.close(fd)
            elif cmdline and mark in cmdline:
                fds[k] = fd
            else:  # ended, and its pid taken by another process
                os.close(fd)
                ignored.add(k)
        for k, fd in fds.items():
            if k not in ended and select.select([fd], [], [], 0)[0]:
                ended[k] = time.time()

    start = time.monotonic()
    with open(os.path.join(d, "stderr"), "w+b") as err:
        # stderr to a file: a process left behind must not hold a pipe open
        p = subprocess.Popen(argv, cwd=HERE, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=err)
        box = {}
        reader = threading.Thread(target=lambda: box.update(out=p.stdout.read()))
        reader.start()
        while p.poll() is None and time.monotonic() - start < timeout:
            look()
            time.sleep(0.05)
        if p.poll() is None:
            p.kill()
        p.wait()
        exited = time.time()
        look()
        left = sorted(k for k in fds if k not in ended)
        for fd in fds.values():  # do not leave our own debris behind
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:
                pass
            os.close(fd)
        reader.join()
        p.stdout.close()
        err.seek(0)
        run = Run(argv, p.returncode, box.get("out", b""), err.read(), time.monotonic() - start)
    return run, ended, left, exited


@scenario
def cold_runner_slow_to_start():
    """--cold --jobs 2 where one of the two jobs' runners never sends READY (a
    wrapper in place of convbox-runner, beside a copy of convbox): the host gives
    it up after 30 s and ends it, while the other job's refused call is answered
    at once and the job then sleeps 40 s, quiet. The converter is 1 MB, more
    than a socket buffer: a runner that never reads its set-up must not hold
    the host either."""
    d = runner_wrapper("slow-runner", 'if [ "$i" = 3 ]; then exec "$here/silent" 60; fi\n'
                                      'exec "$real" "$@"\n')
    shutil.copy2(shutil.which("sleep"), os.path.join(d, "silent"))
    big = os.path.join(d, "big_refused_call.py")
    with open(big, "w") as f, open(os.path.join(HERE, conv("refused_call.py"))) as src:
        f.write("".join("# padding %06d %s\n" % (i, "x" * 80) for i in range(11000)))
        f.write(src.read())
    return run_watching_runners(d, big, inp("plain.txt"), inp("units.csv"),
                                "--cold", "--jobs", "2", "--skip-validation",
                                "--arg", "sleep=40")


@scenario
def cold_runner_lingers():
    """--cold --jobs 1 on two files that each sleep 10 s, where every runner's
    process stays after its runner has ended (a wrapper that runs it, then loops):
    each is killed about 1 s after its job, the last one at close at the latest."""
    d = runner_wrapper("lingering-runner",
                       '"$real" "$@"\n'
                       'date +%s.%N > "$here/ended.$i"\n'
                       'while :; do sleep 0.2; done\n')
    return run_watching_runners(d, conv("env_probe.py"), inp("plain.txt"), inp("lines.txt"),
                                "--cold", "--jobs", "1", "--skip-validation", "--arg", "sleep=10"), d


@scenario
def cold_runner_exits_at_start():
    """--cold --jobs 2 where one of the two jobs' runners exits before its READY."""
    d = runner_wrapper("exiting-runner", 'if [ "$i" = 3 ]; then exit 1; fi\n'
                                         'exec "$real" "$@"\n')
    return run_watching_runners(d, conv("by_content.py"), inp("act_success.txt"),
                                inp("act_failed.txt"), "--cold", "--jobs", "2",
                                "--skip-validation")[0]


@scenario
def cold_runners_ready_in_turn():
    """--cold --jobs 3: the first runner to start is ready at once, the others 2 s
    and 4 s later, so a runner ready while others still start is matched to its job."""
    d = runner_wrapper("runners-in-turn", 'if [ "$i" -gt 2 ]; then sleep $(((i - 2) * 2)); fi\n'
                                          'exec "$real" "$@"\n')
    return run_watching_runners(d, conv("by_content.py"), inp("act_success.txt"),
                                inp("act_failed.txt"), inp("act_skipped.txt"), "--cold",
                                "--jobs", "3", "--skip-validation")[0]


@scenario
def preloaded_blocked():
    """zipfile is in the zygote's preload; a policy that blocks it must not see it."""
    cfg = write_config({"sandbox": {"blocked_imports": ["zipfile", "socket"]}})
    args = (conv("preloaded_blocked.py"), inp("plain.txt"), "--skip-validation")
    return {"zygote": convbox(*args, "--config", cfg), "cold": convbox(*args, "--config", cfg, "--cold"),
            "allowed": convbox(*args)}


@scenario
def compiled_ahead():
    """A spare compiles the converter before its job is known, isolated or trusted."""
    args = (conv("compiled_ahead.py"), inp("plain.txt"), "--skip-validation")
    return {"zygote": convbox(*args), "trusted": convbox(*args, "--trusted"),
            "cold": convbox(*args, "--cold"),
            # later spares load the code object an earlier one marshalled
            "shared": convbox(conv("compiled_ahead.py"), *[inp("plain.txt")] * 8,
                              "--skip-validation", "--jobs", "1")}


@scenario
def preload_named():
    """The zygote preloads the modules its converter names, and no others."""
    args = (conv("preload_named.py"), inp("plain.txt"), "--skip-validation")
    return {"zygote": convbox(*args), "trusted": convbox(*args, "--trusted"),
            "cold": convbox(*args, "--cold")}


@scenario
def non_utf8_name():
    """A file name that is not UTF-8 (a name may be any bytes), on every path."""
    path = os.path.join(os.fsencode(scratch()), b"unit\xff-\xc3.csv")
    with open(path, "wb") as f:
        f.write(b"sn,value,unit\nSN-NU,1.5,V\n")
    args = (conv("safe_csv.py"), path)
    return {"zygote": convbox(*args), "cold": convbox(*args, "--cold"),
            "trusted": convbox(*args, "--trusted")}


@scenario
def output_limit_one_file():
    out = scratch()
    return convbox(conv("big_output.py"), inp("plain.txt"), "--arg", "kb=3072",
                   "--max-output", "1", "--output-dir", out), out


@scenario
def output_limit_total():
    out = scratch()
    return convbox(conv("big_output.py"), inp("plain.txt"), "--arg", "kb=700", "--arg", "files=3",
                   "--max-output", "1", "--output-dir", out), out


def _nr_open():
    try:
        with open("/proc/sys/fs/nr_open") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


@scenario
def sandbox_error():
    n = _nr_open()
    if n is None or n >= 1 << 24:
        return None  # cannot make RLIMIT_NOFILE fail on this machine
    # The converter's descriptor limit plus convbox's own descriptors is above
    # the kernel's nr_open, so setrlimit(RLIMIT_NOFILE) must fail.
    return (convbox(conv("env_probe.py"), inp("plain.txt"), "--max-files", str(n)),
            convbox(conv("env_probe.py"), inp("plain.txt"), "--max-files", str(n),
                    "--skip-validation"))


# Command-line problems.
simple("missing_input", conv("safe_csv.py"), inp("no_such_input.csv"))
simple("missing_converter", conv("no_such_converter.py"), inp("units.csv"))
simple("syntax_error", conv("syntax_error.py"), inp("plain.txt"))
simple("bad_arg", conv("safe_csv.py"), inp("units.csv"), "--arg", "part_number")
simple("unknown_option", conv("safe_csv.py"), inp("units.csv"), "--frobnicate")
simple("unknown_cap", conv("safe_csv.py"), inp("units.csv"), "--cap", "TELEPORT")
simple("bad_number", conv("safe_csv.py"), inp("units.csv"), "--timeout", "soon")
simple("no_input_given", conv("safe_csv.py"))
simple("input_is_directory", conv("safe_csv.py"), "inputs")


@scenario
def input_unreadable():
    if os.geteuid() == 0:
        return None  # root reads a mode-000 file anyway
    path = os.path.join(scratch(), "locked.csv")
    with open(path, "w") as f:
        f.write("serial\nSN-1\n")
    os.chmod(path, 0)
    return convbox(conv("safe_csv.py"), path)


simple("help", "--help")

simple("class_ambiguous", conv("two_classes.py"), inp("plain.txt"))
simple("class_second", conv("two_classes.py"), inp("plain.txt"), "--class", "SecondConverter")
simple("class_first", conv("two_classes.py"), inp("plain.txt"), "--class", "FirstConverter")
simple("class_missing", conv("two_classes.py"), inp("plain.txt"), "--class", "ThirdConverter")


@scenario
def output_dir_twice():
    out = scratch()
    first = convbox(conv("writes_output.py"), inp("out1.txt"), "--output-dir", out)
    after_first = list_files(out)
    second = convbox(conv("writes_output.py"), inp("out2.txt"), "--output-dir", out)
    return first, after_first, second, list_files(out)


simple("multi_order", conv("by_content.py"), inp("act_success.txt"), inp("act_failed.txt"),
       inp("act_raise.txt"), inp("act_skipped.txt"), "--jobs", "4")
simple("multi_worst", conv("by_content.py"), inp("act_success.txt"), inp("act_alloc.txt"),
       inp("act_failed.txt"), "--jobs", "3")
simple("multi_all_success", conv("by_content.py"), inp("act_success.txt"), inp("act_success.txt"))
simple("multi_isolated", conv("per_input.py"), inp("act_success.txt"), inp("act_failed.txt"),
       inp("act_raise.txt"), inp("act_skipped.txt"), "--cpu", "1", "--jobs", "1", "--timeout", "60")
simple("multi_missing", conv("by_content.py"), inp("act_success.txt"), inp("no_such_input.txt"),
       inp("act_failed.txt"))

COLD_CASES = {
    "safe_csv": (conv("safe_csv.py"), inp("units.csv"), "--arg", "part_number=PN-001"),
    "object_form": (conv("object_form.py"), inp("keyvalue.txt")),
    "context_form": (conv("context_form.py"), inp("lines.txt"), "--arg", "station=S"),
    "raises": (conv("raises.py"), inp("plain.txt")),
    "stdio": (conv("stdio.py"), inp("plain.txt")),
    "memory": (conv("big_alloc.py"), inp("plain.txt")),
    "multi": (conv("by_content.py"), inp("act_failed.txt"), inp("act_skipped.txt")),
}
for _k, _args in COLD_CASES.items():
    simple("cold_warm_" + _k, *_args)
    simple("cold_cold_" + _k, *_args, "--cold")


@scenario
def trusted_and_sandboxed():
    src = os.path.join(HERE, "inputs", "plain.txt")
    out_t, out_s = scratch(), scratch()
    trusted = convbox(conv("env_probe.py"), src, "--trusted", "--arg", "write=true",
                      "--output-dir", out_t)
    sandboxed = convbox(conv("env_probe.py"), src, "--arg", "write=true", "--output-dir", out_s)
    return src, trusted, list_files(out_t), sandboxed, list_files(out_s)


GOOD_CONFIG = {"sandbox": {
    "capabilities": ["read_input", "WRITE_OUTPUT", "LOG_INFO", "FILE_TEMP"],
    "resource_limits": {"timeout_seconds": 1.5, "memory_mb": 128},
}}


@scenario
def config_effects():
    cfg = write_config(GOOD_CONFIG)
    runs = {
        "temp_cfg": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "temp=1",
                            "--config", cfg),
        "temp_default": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "temp=1"),
        "sleep_cfg": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "sleep=6",
                             "--config", cfg, timeout=60),
        "sleep_cli_override": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "sleep=2.5",
                                      "--config", cfg, "--timeout", "20", timeout=60),
        "alloc_cfg": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "alloc_mb=200",
                             "--config", cfg),
        "alloc_default": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "alloc_mb=200"),
        "stderr_cfg": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "stderr=1",
                              "--config", cfg),
        "stderr_default": convbox(conv("env_probe.py"), inp("plain.txt"), "--arg", "stderr=1"),
    }
    return runs


BAD_CONFIGS = {
    "limit_key": ({"sandbox": {"resource_limits": {"timeout_secs": 3}}},
                  ["sandbox.resource_limits.timeout_secs"]),
    "limit_type": ({"sandbox": {"resource_limits": {"memory_mb": "lots"}}},
                   ["sandbox.resource_limits.memory_mb"]),
    "limit_range": ({"sandbox": {"resource_limits": {"cpu_time_seconds": -5}}},
                    ["sandbox.resource_limits.cpu_time_seconds"]),
    "cap_name": ({"sandbox": {"capabilities": ["READ_INPUT", "TELEPORT"]}},
                 ["sandbox.capabilities[1]"]),
    "cap_type": ({"sandbox": {"capabilities": "READ_INPUT"}}, ["sandbox.capabilities"]),
    "block_key": ({"sandbox": {"capabilites": ["READ_INPUT"]}}, ["sandbox.capabilites"]),
    "not_json": ('{"sandbox": {"capabilities": [', ["config.json"]),
}


@scenario
def bad_configs():
    runs = {}
    for key, (body, _) in BAD_CONFIGS.items():
        runs[key] = convbox(conv("safe_csv.py"), inp("units.csv"), "--config", write_config(body))
    runs["missing_file"] = convbox(conv("safe_csv.py"), inp("units.csv"), "--config",
                                   os.path.join(work(), "no-such-config.json"))
    return runs


# ---------------------------------------------------------------------------
# Tests


class Base(unittest.TestCase):
    maxDiff = 4000

    def outcome(self, run, outcome, rc=None, status=None):
        """The single result line has `outcome` and the exit code fits it; returns the result."""
        res = run.result
        self.assertEqual(res.get("outcome"), outcome, run.describe())
        if rc is None:
            rc = EXIT[outcome] if outcome != "completed" else (0 if res.get("status") == "Success" else 1)
        self.assertEqual(run.rc, rc, "exit code\n" + run.describe())
        if status is not None:
            self.assertEqual(res.get("status"), status, run.describe())
        self.shape(res, run)
        return res

    def shape(self, res, run):
        """Members every result line has: input, logs, denied, usage."""
        self.assertIsInstance(res.get("input"), str, run.describe())
        # as given; bytes that are not UTF-8 shown as U+FFFD
        given = [a.decode("utf-8", "replace") if isinstance(a, bytes) else a for a in run.argv]
        self.assertIn(res["input"], given, "input is the path given")
        if res["outcome"] not in ("security", "sandbox_error"):
            usage = res.get("usage")
            self.assertIsInstance(usage, dict, run.describe())
            for k in ("wall_ms", "cpu_ms", "max_rss_kb"):
                self.assertIsInstance(usage.get(k), int, "usage.%s\n%s" % (k, run.describe()))
                self.assertGreaterEqual(usage[k], 0)
            self.assertIsInstance(res.get("logs"), list, run.describe())
            for entry in res["logs"]:
                self.assertEqual(set(entry), {"level", "message"}, entry)
        if res["outcome"] == "completed":
            self.assertIn(res.get("status"), STATUSES, run.describe())
            if res["status"] == "Success":
                self.assertNotIn("error", res, run.describe())
        else:
            self.assertNotIn("report", res, run.describe())
            self.assertNotIn("reports", res, run.describe())
            self.assertTrue(res.get("error"), "a failed outcome says why\n" + run.describe())

    def error_text(self, res):
        err = res.get("error")
        if isinstance(err, dict):
            return "%s: %s" % (err.get("type"), err.get("message"))
        return err or ""

    def usage_error(self, run, *needles, rc=2):
        """Exit `rc`, nothing on stdout, one line on stderr naming every needle."""
        self.assertEqual(run.rc, rc, run.describe())
        self.assertEqual(run.out, b"", "no result line for a usage error\n" + run.describe())
        lines = run.err.rstrip("\n").split("\n")
        self.assertEqual(len(lines), 1, "exactly one line on stderr\n" + run.describe())
        self.assertTrue(lines[0].strip(), run.describe())
        for n in needles:
            self.assertIn(n, lines[0], run.describe())
        return lines[0]


class TestConverterForms(Base):
    SAFE_REPORT = {"type": "UUT", "partNumber": "PN-001", "serialNumber": "SN-0001",
                   "result": "Passed"}

    @uses("safe_csv")
    def test_spec_safe_csv_converter_exact_report(self):
        run = get("safe_csv")
        res = self.outcome(run, "completed", 0, "Success")
        self.assertEqual(res["report"], self.SAFE_REPORT)
        self.assertEqual(res["metadata"], {"rows_processed": 3})
        self.assertEqual(res["input"], inp("units.csv"))
        self.assertNotIn("error", res)
        self.assertEqual(res["logs"], [])
        self.assertEqual(res["denied"], [])
        self.assertEqual(raw_members(run.lines[0])["report"], compact(self.SAFE_REPORT))

    @uses("safe_csv_no_args", "safe_csv_args_json")
    def test_spec_safe_csv_converter_args(self):
        res = self.outcome(get("safe_csv_no_args"), "completed", 0, "Success")
        self.assertEqual(res["report"], dict(self.SAFE_REPORT, partNumber="UNKNOWN"))
        res = self.outcome(get("safe_csv_args_json"), "completed", 0, "Success")
        self.assertEqual(res["report"], dict(self.SAFE_REPORT, partNumber="PN-Ω-7"))

    @uses("safe_csv_utf8")
    def test_spec_safe_csv_converter_reads_utf8_csv(self):
        # file_path.read_text() with no encoding, as the spec's converter does,
        # must read a UTF-8 CSV (units like µV, names like Ø) as any Python 3.11
        # in a UTF-8 or C locale does.
        res = self.outcome(get("safe_csv_utf8"), "completed", 0, "Success")
        self.assertEqual(res["report"], dict(self.SAFE_REPORT, serialNumber="SN-Ø042"))
        self.assertEqual(res["metadata"], {"rows_processed": 1})

    @uses("safe_csv_utf8_name")
    def test_spec_safe_csv_converter_non_ascii_file_name(self):
        # An input named "Prüfprotokoll µ 1.csv" is seen as /input/<that name>
        # and can be read.
        run = get("safe_csv_utf8_name")
        res = self.outcome(run, "completed", 0, "Success")
        self.assertEqual(res["input"], inp("Prüfprotokoll µ 1.csv"))
        self.assertEqual(res["report"], self.SAFE_REPORT)

    @uses("object_form", "object_form_rejected", "object_form_reports")
    def test_object_form_with_enum_status(self):
        res = self.outcome(get("object_form"), "completed", 0, "Success")
        report = {"type": "T", "pn": "PN-100", "sn": "SN-7", "rev": "", "result": "P"}
        self.assertEqual(res["report"], report)
        self.assertEqual(res["metadata"], {"fields": 3, "source": "keyvalue.txt"})
        self.assertEqual(res["post_action"], "zip")
        res = self.outcome(get("object_form_rejected"), "completed", 1, "Rejected")
        self.assertEqual(res["report"]["sn"], "SN-7")
        res = self.outcome(get("object_form_reports"), "completed", 0, "Success")
        self.assertEqual(res["reports"], [report, dict(report, sn="SN-7-B")])
        self.assertNotIn("report", res)
        self.assertEqual(res["post_action"], "delete")

    @uses("context_form", "context_form_values")
    def test_convert_source_context_form(self):
        res = self.outcome(get("context_form"), "completed", 0, "Success")
        self.assertEqual(res["report"], {"file": "lines.txt", "rows": 3, "station": "ST-9",
                                         "count": 3})
        self.assertEqual(res["metadata"], {"form": "convert"})
        # --arg VALUE is JSON when it parses ("007" does not), else a string.
        res = self.outcome(get("context_form_values"), "completed", 0, "Success")
        self.assertEqual(res["report"]["station"], "007")
        self.assertEqual(res["report"]["count"], {"a": [1, 2.5, True, None], "b": "x=y"})

    @uses(*[c[0] for c in STATUS_CASES])
    def test_status_normalised_from_any_case_and_enum(self):
        for name, canon, value, form in STATUS_CASES:
            with self.subTest(status=value, form=form):
                res = self.outcome(get(name), "completed", 0 if canon == "Success" else 1, canon)
                self.assertEqual(res["report"], {"asked": value})


class TestConverterErrors(Base):
    @uses("raises")
    def test_exception_has_type_message_traceback(self):
        res = self.outcome(get("raises"), "converter_error", 1)
        err = res["error"]
        self.assertIsInstance(err, dict)
        self.assertEqual(err["type"], "BadInput")
        self.assertEqual(err["message"], "no header row in 6 bytes")
        tb = err["traceback"]
        self.assertTrue(tb.startswith("Traceback (most recent call last):"), tb)
        self.assertIn("raises.py", tb)
        self.assertIn("in _parse", tb)
        self.assertIn("BadInput: no header row in 6 bytes", tb)
        self.assertNotIn("status", res)

    @uses("bad_result_none", "bad_result_no_status", "bad_result_unknown_status")
    def test_result_without_usable_status(self):
        for mode in ("none", "no_status", "unknown_status"):
            with self.subTest(mode=mode):
                res = self.outcome(get("bad_result_" + mode), "converter_error", 1)
                self.assertIn("status", self.error_text(res).lower())
                self.assertNotIn("metadata", res)

    @uses("bad_result_set_report", "bad_result_object_report", "bad_result_nan_report")
    def test_report_not_serialisable(self):
        for mode, word in (("set_report", "set"), ("object_report", "Opaque"),
                           ("nan_report", "")):
            with self.subTest(mode=mode):
                res = self.outcome(get("bad_result_" + mode), "converter_error", 1)
                self.assertIn(word, self.error_text(res))

    @uses("class_ambiguous", "class_first", "class_second", "class_missing")
    def test_class_selection(self):
        run = get("class_ambiguous")
        res = run.result
        self.assertNotEqual(res["outcome"], "completed", run.describe())
        self.assertIn(run.rc, (1, 2), run.describe())
        msg = self.error_text(res)
        for word in ("FirstConverter", "SecondConverter", "--class"):
            self.assertIn(word, msg)
        self.assertNotIn("Helper", msg)
        res = self.outcome(get("class_first"), "completed", 0, "Success")
        self.assertEqual(res["report"], {"by": "FirstConverter"})
        res = self.outcome(get("class_second"), "completed", 0, "Success")
        self.assertEqual(res["report"], {"by": "SecondConverter"})
        run = get("class_missing")
        self.assertNotEqual(run.result["outcome"], "completed", run.describe())
        self.assertIn("ThirdConverter", self.error_text(run.result))


class TestLogsAndReports(Base):
    @uses("chatty")
    def test_100000_printed_lines_still_return_the_result(self):
        run = get("chatty")
        res = self.outcome(run, "completed", 0, "Success")
        self.assertEqual(res["report"], {"printed": 100000})
        logs = res["logs"]
        self.assertLessEqual(len(logs), 10001)
        self.assertGreaterEqual(len(logs), 100)
        body, note = logs[:-1], logs[-1]
        for k, entry in enumerate(body):
            self.assertEqual(entry, {"level": "INFO", "message": "progress line %d" % k})
        self.assertIn("truncat", note["message"].lower())
        self.assertNotIn("progress line", note["message"])

    @uses("stdio")
    def test_stdout_and_stderr_become_logs_never_results(self):
        run = get("stdio")
        res = self.outcome(run, "completed", 1, "Failed")
        self.assertEqual(res["report"], {"real": True})
        self.assertEqual(res["error"], "deliberately failed")
        logs = [(e["level"], e["message"]) for e in res["logs"]]
        for want in [("INFO", "print to stdout ✓"), ("ERROR", "print to stderr"),
                     ("INFO", "partial line"), ("INFO", "raw fd 1"), ("ERROR", "raw fd 2"),
                     ("INFO", '{"outcome": "completed", "status": "Success", '
                              '"report": {"forged": true}}')]:
            self.assertIn(want, logs)
        self.assertTrue(any(lv == "WARNING" and "a warning" in m for lv, m in logs), logs)

    @uses("dates_FromDatetime", "dates_FromCModule")
    def test_dates_in_a_report_become_iso_text(self):
        for cls in ("FromDatetime", "FromCModule"):
            res = self.outcome(get("dates_" + cls), "completed", 0, "Success")
            self.assertEqual(res["report"], {"start": "2026-01-02T03:04:05", "day": "2026-01-02",
                                             "at": "03:04:05"}, cls)

    @uses("log_unnamed_ByBuiltName", "log_unnamed_ByBuiltName__cold", "log_unnamed_ByContext",
          "log_unnamed_ByContext__cold")
    def test_logging_imported_by_the_job_still_reaches_the_host(self):
        # The source never names the logging module, so no runner imports it
        # ahead: the job's first import of it sets up the handler.
        for mode in ("", "__cold"):
            res = self.outcome(get("log_unnamed_ByBuiltName" + mode), "completed", 0, "Success")
            self.assertEqual(res["logs"], [
                {"level": "INFO", "message": "unnamed: info record"},
                {"level": "DEBUG", "message": "unnamed: debug record"},
                {"level": "WARNING", "message": "unnamed: warning record"}], mode)
            res = self.outcome(get("log_unnamed_ByContext" + mode), "completed", 0, "Success")
            self.assertEqual(res["logs"], [
                {"level": "WARNING", "message": "converter: context record for plain.txt"}], mode)

    @uses("bad_bytes_raise", "bad_bytes_ok")
    def test_non_utf8_output_keeps_the_result_line_whole(self):
        res = self.outcome(get("bad_bytes_raise"), "converter_error", 1)
        self.assertIsInstance(res.get("error"), dict)
        self.assertEqual(res["error"]["type"], "KeyError")
        self.assertIn("missing column", res["error"]["message"])
        self.assertIn({"level": "INFO", "message": "plain line"}, res["logs"])
        self.assertIn("ERROR", [e["level"] for e in res["logs"]])
        res = self.outcome(get("bad_bytes_ok"), "completed", 0, "Success")
        self.assertEqual(res["report"], {"wrote": "bytes"})
        self.assertIn({"level": "INFO", "message": "plain line"}, res["logs"])
        self.assertIn("ERROR", [e["level"] for e in res["logs"]])

    @uses("long_log_line")
    def test_overlong_log_line_is_bounded_with_a_note(self):
        res = self.outcome(get("long_log_line"), "completed", 0, "Success")
        self.assertEqual(res["report"], {"printed": 3 * MIB})
        total = sum(len(e["message"]) for e in res["logs"])
        self.assertLess(total, 3 * MIB, "logs are bounded")
        self.assertTrue(any("truncat" in e["message"].lower() for e in res["logs"]),
                        "a 3 MiB line was cut to %d characters without a note" % total)

    @uses("big_report")
    def test_20mb_report_arrives_byte_identical(self):
        run = get("big_report")
        self.outcome(run, "completed", 0, "Success")
        build = runpy.run_path(os.path.join(HERE, "converters", "big_report.py"))["build_report"]
        expected = compact(build(20)).encode("utf-8")
        self.assertGreaterEqual(len(expected), 20 * MIB)
        got = raw_members(run.lines[0])["report"].encode("utf-8")
        self.assertEqual(len(got), len(expected))
        self.assertTrue(got == expected, "report bytes differ from the converter's report")
        self.assertIn(b'"value":0.1,', got)
        self.assertIn("Ωhm µV 測試 ✓".encode("utf-8"), got)

    @uses("big_reports")
    def test_reports_list_arrives_byte_identical(self):
        run = get("big_reports")
        res = self.outcome(run, "completed", 0, "Success")
        self.assertNotIn("report", res)
        build = runpy.run_path(os.path.join(HERE, "converters", "big_report.py"))["build_report"]
        got = raw_elements(raw_members(run.lines[0])["reports"])
        self.assertEqual(len(got), 3)
        for k, text in enumerate(got):
            expected = compact(build(21 / 3, "part%d" % k))
            self.assertTrue(text.encode("utf-8") == expected.encode("utf-8"),
                            "reports[%d] differs" % k)

    @uses("big_int")
    def test_integers_beyond_64_bits_pass_through(self):
        run = get("big_int")
        res = self.outcome(run, "completed", 0, "Success")
        unit = 0x6F1C2A3E9B4D4E5F8A7B0C1D2E3F4A5B
        self.assertEqual(res["report"], {"sn": "SN-1", "unitId": unit, "count": 10 ** 30,
                                         "min": -(2 ** 63)})
        self.assertEqual(res["metadata"], {"unitId": unit})
        self.assertIn('"count":%d' % 10 ** 30, raw_members(run.lines[0])["report"])

    @uses("report_over_max_frame")
    def test_report_over_max_frame_is_refused(self):
        run = get("report_over_max_frame")
        res = run.result
        self.assertIn(res["outcome"], ("protocol", "converter_error"), run.describe())
        self.outcome(run, res["outcome"])
        self.assertIn("frame", self.error_text(res).lower())

    @uses("reports_over_max_frame")
    def test_reports_together_over_max_frame_are_refused(self):
        # the host keeps every report until the job ends: a converter must not
        # fill its memory with frames that each pass the limit
        run = get("reports_over_max_frame")
        res = self.outcome(run, "protocol")
        self.assertIn("reports add up to more than 1 MB", self.error_text(res))
        self.assertNotIn("report", res)
        self.assertNotIn("reports", res)


class TestLimits(Base):
    @uses("cpu_spin")
    def test_busy_loop_ends_as_cpu_limit(self):
        run = get("cpu_spin")
        res = self.outcome(run, "cpu_limit", 5)
        self.assertIn("cpu", self.error_text(res).lower())
        self.assertLess(res["usage"]["wall_ms"], 30000)

    @uses("timeout_child")
    def test_timeout_kills_child_ignoring_sigterm(self):
        info = get("timeout_child")
        run = info["run"]
        res = self.outcome(run, "timeout", 4)
        self.assertTrue(info["seen"], "the converter's child never appeared in /proc\n" +
                        run.describe())
        self.assertEqual(info["left"], [], "processes left behind after convbox exited "
                         "(still there 2 s later: %s)" % info["left_after_2s"])
        wall = res["usage"]["wall_ms"]
        self.assertGreaterEqual(wall, 1900)
        self.assertLessEqual(wall, 3000, "timeout 2 s must end within 3 s")
        # Measured around the whole command (start-up included), with slack for load.
        self.assertLess(run.elapsed, 2 + 1 + 2.5)

    @uses("memory_4g", "memory_chunks")
    def test_4gb_allocation_ends_as_memory_limit(self):
        for name in ("memory_4g", "memory_chunks"):
            with self.subTest(name):
                self.outcome(get(name), "memory_limit", 5)

    @uses("output_limit_one_file", "output_limit_total")
    def test_output_over_limit(self):
        for name in ("output_limit_one_file", "output_limit_total"):
            with self.subTest(name):
                run, out = get(name)
                self.outcome(run, "output_limit", 5)
                kept = sum(len(v) for v in list_files(out).values())
                self.assertLessEqual(kept, 1 * MIB, "more than --max-output kept")

    @uses("segfault")
    def test_sigsegv_ends_as_crashed(self):
        res = self.outcome(get("segfault"), "crashed", 6)
        self.assertIn("SEGV", res["error"] if isinstance(res["error"], str) else str(res["error"]))

    @uses("aborts")
    def test_abort_ends_as_crashed(self):
        self.outcome(get("aborts"), "crashed", 6)

    @uses("protocol_garbage", "protocol_oversized")
    def test_bad_frames_end_as_protocol(self):
        for name in ("protocol_garbage", "protocol_oversized"):
            with self.subTest(name):
                res = self.outcome(get(name), "protocol", 6)
                self.assertIn("frame", self.error_text(res).lower())

    @uses("sandbox_error")
    def test_limit_that_cannot_be_set_is_sandbox_error(self):
        runs = get("sandbox_error")
        if runs is None:
            self.skipTest("fs.nr_open is too large to make RLIMIT_NOFILE fail")
        for run in runs:
            res = self.outcome(run, "sandbox_error", 6)
            self.assertIn("RLIMIT_NOFILE", self.error_text(res))


class TestSecurity(Base):
    @uses("security_validator", "syntax_error")
    def test_validator_rejects(self):
        run = get("security_validator")
        res = self.outcome(run, "security", 3)
        self.assertTrue(res["error"].startswith("Converter validation failed:"), res["error"])
        self.assertIn("socket", res["error"])
        run = get("syntax_error")
        res = self.outcome(run, "security", 3)
        self.assertTrue(res["error"].startswith("Converter validation failed:"), res["error"])
        self.assertRegex(res["error"], r"syntax_error\.py:7\b")
        line = run.err.rstrip("\n").split("\n")
        self.assertEqual(len(line), 1, run.describe())
        self.assertIn("syntax_error.py:7", line[0])

    @uses("security_runtime")
    def test_runtime_denial(self):
        res = self.outcome(get("security_runtime"), "security", 3)
        self.assertTrue(res["denied"])
        self.assertTrue(any("socket" in json.dumps(d) for d in res["denied"]), res["denied"])

    @uses("cold_runner_slow_to_start")
    def test_cold_runner_start_does_not_hold_other_jobs(self):
        run, ended, left, exited = get("cold_runner_slow_to_start")
        lines = [json.loads(l) for l in run.out.splitlines()]
        self.assertEqual(len(lines), 2, run.describe())
        by_outcome = {l["outcome"]: l for l in lines}
        self.assertEqual(sorted(by_outcome), ["sandbox_error", "security"], run.describe())
        self.assertIn("did not start within 30 s", by_outcome["sandbox_error"]["error"],
                      run.describe())
        # refused, reported and answered while the other runner was still silent (30 s)
        refused = by_outcome["security"]
        self.assertEqual([(d["target"], d["layer"]) for d in refused["denied"]],
                         [("setsid", "seccomp")], run.describe())
        answered = [float(m.group(1)) for e in refused["logs"]
                    for m in [re.match(r"setsid answered after ([0-9.]+) s", e["message"])] if m]
        self.assertEqual(len(answered), 1, run.describe())
        self.assertLess(answered[0], 15, run.describe())
        # the silent runner was given up and ended at 30 s, while the other job
        # still slept (40 s), not when that job's end woke the host; none is left
        self.assertEqual(left, [], run.describe())
        self.assertIn("3", ended, run.describe())
        self.assertLess(ended["3"], exited - 5, run.describe())

    @uses("preloaded_blocked")
    def test_blocked_module_of_the_preload(self):
        runs = get("preloaded_blocked")
        for path in ("zygote", "cold"):
            with self.subTest(path):
                res = self.outcome(runs[path], "security", 3)
                self.assertIn({"level": "INFO", "message": "zipfile loaded: False"}, res["logs"])
                self.assertIn(("import", "zipfile"),
                              [(d.get("action"), d.get("target")) for d in res["denied"]])
        # the control: not blocked, the zygote's job finds zipfile loaded and may use it
        res = self.outcome(runs["allowed"], "completed", 0, "Success")
        self.assertIn({"level": "INFO", "message": "zipfile loaded: True"}, res["logs"])


class TestCapabilities(Base):
    @uses("caps_read_only", "caps_none")
    def test_no_default_caps(self):
        # READ_INPUT only: the input is readable, nothing is logged.
        res = self.outcome(get("caps_read_only"), "completed", 0, "Success")
        self.assertEqual(res["report"]["text"], "hello\n")
        self.assertEqual(res["logs"], [])
        # Nothing at all: reading the input is refused.
        res = self.outcome(get("caps_none"), "security", 3)
        self.assertTrue(any(d.get("capability") == "READ_INPUT" for d in res["denied"]),
                        res["denied"])


class TestCommandLine(Base):
    @uses("missing_input")
    def test_missing_input(self):
        self.usage_error(get("missing_input"), "no_such_input.csv")

    @uses("missing_converter")
    def test_missing_converter(self):
        self.usage_error(get("missing_converter"), "no_such_converter.py")

    @uses("bad_arg")
    def test_bad_arg(self):
        self.usage_error(get("bad_arg"), "--arg", "part_number", "=")

    @uses("unknown_option")
    def test_unknown_option(self):
        self.usage_error(get("unknown_option"), "--frobnicate")

    @uses("unknown_cap")
    def test_unknown_capability(self):
        self.usage_error(get("unknown_cap"), "TELEPORT")

    @uses("bad_number", "no_input_given")
    def test_other_usage_errors(self):
        self.usage_error(get("bad_number"), "--timeout", "soon")
        self.usage_error(get("no_input_given"), "INPUT")

    @uses("input_is_directory")
    def test_directory_as_input(self):
        run = get("input_is_directory")
        self.assertEqual(run.rc, 2, "a directory is an unreadable input\n" + run.describe())
        self.assertIn("inputs", run.err, run.describe())

    @uses("input_unreadable")
    def test_unreadable_input(self):
        run = get("input_unreadable")
        if run is None:
            self.skipTest("running as root: a mode-000 file is readable")
        self.usage_error(run, "locked.csv")

    @uses("help")
    def test_help(self):
        run = get("help")
        self.assertEqual(run.rc, 0, run.describe())
        text = run.text + run.err
        for word in ["completed"] + list(EXIT):
            self.assertIn(word, text)


def _comparable(res):
    """A result without its usage; logs from stdout, stderr and logging come
    through different channels, so only the order within a level is kept."""
    res = {m: v for m, v in res.items() if m != "usage"}
    if "logs" in res:
        res["logs"] = sorted(res["logs"], key=lambda e: e["level"])
    return res


class TestOutputsAndInputs(Base):
    @uses("output_dir_twice")
    def test_outputs_collected_never_overwritten(self):
        first, after_first, second, after_second = get("output_dir_twice")
        self.outcome(first, "completed", 0, "Success")
        self.outcome(second, "completed", 0, "Success")
        summary1 = "summary of out1.txt: SN-OUT-1\n".encode("utf-8")
        data1 = bytes(range(256)) + b"SN-OUT-1\n"
        self.assertEqual(after_first, {"summary.txt": summary1, "data.bin": data1})
        self.assertEqual(len(after_second), 4, sorted(after_second))
        self.assertEqual(after_second["summary.txt"], summary1, "first run's file overwritten")
        self.assertEqual(after_second["data.bin"], data1, "first run's file overwritten")
        rest = sorted(v for k, v in after_second.items() if k not in ("summary.txt", "data.bin"))
        self.assertEqual(rest, sorted([b"summary of out2.txt: SN-OUT-2\n",
                                       bytes(range(256)) + b"SN-OUT-2\n"]))

    @uses("non_utf8_name")
    def test_a_name_that_is_not_utf8(self):
        # it once broke the result line and made the runner look dead
        for mode, run in get("non_utf8_name").items():
            res = self.outcome(run, "completed", 0, "Success")
            self.assertEqual(res["report"]["serialNumber"], "SN-NU", mode)
            self.assertTrue(res["input"].endswith("/unit\ufffd-\ufffd.csv"), (mode, res["input"]))

    @uses("multi_order", "multi_worst", "multi_all_success", "multi_isolated", "multi_missing")
    def test_several_inputs(self):
        run = get("multi_order")
        got = [(r["input"], r["outcome"], r.get("status")) for r in run.results]
        self.assertEqual(got, [(inp("act_success.txt"), "completed", "Success"),
                               (inp("act_failed.txt"), "completed", "Failed"),
                               (inp("act_raise.txt"), "converter_error", None),
                               (inp("act_skipped.txt"), "completed", "Skipped")], run.describe())
        self.assertEqual(run.rc, 1, run.describe())

        run = get("multi_worst")
        got = [(r["input"], r["outcome"]) for r in run.results]
        self.assertEqual(got, [(inp("act_success.txt"), "completed"),
                               (inp("act_alloc.txt"), "memory_limit"),
                               (inp("act_failed.txt"), "completed")], run.describe())
        self.assertEqual(run.rc, 5, run.describe())

        run = get("multi_all_success")
        self.assertEqual([r["status"] for r in run.results], ["Success", "Success"])
        self.assertEqual(run.rc, 0, run.describe())

        # Each input gets a fresh converter and its own CPU budget: four
        # conversions of 0.5 s CPU each under --cpu 1, none sees another.
        run = get("multi_isolated")
        self.assertEqual(run.rc, 0, run.describe())
        names = ["act_success.txt", "act_failed.txt", "act_raise.txt", "act_skipped.txt"]
        self.assertEqual([r["outcome"] for r in run.results], ["completed"] * 4, run.describe())
        self.assertEqual([r["report"] for r in run.results],
                         [{"calls": [n], "seen": [n]} for n in names])

        run = get("multi_missing")
        self.assertEqual(run.rc, 2, run.describe())
        self.assertIn("no_such_input.txt", run.err)
        self.assertEqual(len(run.err.rstrip("\n").split("\n")), 1, run.describe())
        done = [r["input"] for r in run.results]
        self.assertEqual([i for i in done if i != inp("no_such_input.txt")],
                         [inp("act_success.txt"), inp("act_failed.txt")], run.describe())

    @uses(*["cold_%s_%s" % (m, k) for k in COLD_CASES for m in ("warm", "cold")])
    def test_cold_gives_the_same_result(self):
        for k in COLD_CASES:
            with self.subTest(k):
                warm, cold = get("cold_warm_" + k), get("cold_cold_" + k)
                self.assertEqual(warm.rc, cold.rc, cold.describe())
                a = [_comparable(r) for r in warm.results]
                b = [_comparable(r) for r in cold.results]
                self.assertTrue(a)
                self.assertEqual(a, b)

    @uses("cold_runner_exits_at_start")
    def test_cold_runner_that_exits_at_start(self):
        run = get("cold_runner_exits_at_start")
        by_outcome = {r["outcome"]: r for r in run.results}
        self.assertEqual(len(run.results), 2, run.describe())
        self.assertEqual(sorted(by_outcome), ["completed", "sandbox_error"], run.describe())
        self.assertIn("the runner exited during start-up",
                      by_outcome["sandbox_error"]["error"], run.describe())

    @uses("cold_runners_ready_in_turn")
    def test_cold_jobs_start_on_their_own_runners(self):
        run = get("cold_runners_ready_in_turn")
        got = [(r["input"], r["outcome"], r.get("status")) for r in run.results]
        self.assertEqual(got, [(inp("act_success.txt"), "completed", "Success"),
                               (inp("act_failed.txt"), "completed", "Failed"),
                               (inp("act_skipped.txt"), "completed", "Skipped")], run.describe())
        self.assertEqual(run.rc, 1, run.describe())

    @uses("cold_runner_lingers")
    def test_cold_runners_are_ended_after_their_jobs(self):
        (run, ended, left, exited), d = get("cold_runner_lingers")
        self.assertEqual([r["outcome"] for r in run.results], ["completed"] * 2, run.describe())
        # starts 1 (the layer probe) and 2, 3 (the jobs' runners)
        self.assertEqual(sorted(ended) + left, ["1", "2", "3"], run.describe())
        self.assertEqual(left, [], "a runner's process outlived convbox\n" + run.describe())
        for k in sorted(ended):
            # every runner ended on its own once told to, the last one too: each had its grace
            path = os.path.join(d, "ended." + k)
            self.assertTrue(os.path.exists(path), "start %s\n%s" % (k, run.describe()))
            with open(path) as f:
                runner_ended = float(f.read())
            # killed after its 1 s grace, not kept until the next job ends (10 s) or the
            # close; the watcher may notice a few seconds late on a loaded machine
            self.assertLess(ended[k] - runner_ended, 5, "start %s\n%s" % (k, run.describe()))

    @uses("trusted_and_sandboxed")
    def test_trusted_runs_the_same_converter(self):
        src, trusted, files_t, sandboxed, files_s = get("trusted_and_sandboxed")
        res = self.outcome(trusted, "completed", 0, "Success")
        rep = res["report"]
        self.assertEqual(os.path.realpath(rep["path"]), os.path.realpath(src))
        self.assertEqual(rep["name"], "plain.txt")
        self.assertTrue(rep["is_path"])
        self.assertEqual(rep["text"], "hello\n")
        self.assertTrue(rep["output_dir"] and os.path.isabs(rep["output_dir"]))
        self.assertNotEqual(rep["output_dir"], "/output")
        self.assertEqual(files_t, {"probe.txt": b"written by probe"})

        res = self.outcome(sandboxed, "completed", 0, "Success")
        rep = res["report"]
        self.assertEqual(rep["path"], "/input/plain.txt")
        self.assertEqual(rep["output_dir"], "/output")
        self.assertEqual(rep["text"], "hello\n")
        self.assertEqual(files_s, {"probe.txt": b"written by probe"})

    @uses("compiled_ahead")
    def test_spares_compile_ahead_isolated_and_trusted(self):
        runs = get("compiled_ahead")
        for path, ahead in (("zygote", True), ("trusted", True), ("cold", False)):
            with self.subTest(path):
                res = self.outcome(runs[path], "completed", 0, "Success")
                self.assertEqual(res["report"], {"compiled_ahead": ahead})
        # spares forked once the zygote has an earlier spare's code object load it
        run = runs["shared"]
        self.assertEqual(run.rc, 0, run.describe())
        self.assertEqual([r["report"] for r in run.results], [{"compiled_ahead": True}] * 8,
                         run.describe())

    @uses("preload_named")
    def test_zygote_preloads_what_its_converter_names(self):
        runs = get("preload_named")
        # named in the converter's source: minidom and bisect (whole strings), heapq
        # (code); not named: decimal, zipfile, gzip (in "*.gzip"), uuid (a comment)
        named = ["xml.dom.minidom", "bisect", "heapq"]
        for path, loaded in (("zygote", named), ("trusted", named), ("cold", [])):
            with self.subTest(path):
                res = self.outcome(runs[path], "completed", 0, "Success")
                self.assertEqual(res["report"], {"loaded": loaded})


class TestConfig(Base):
    @uses("config_effects")
    def test_sandbox_block_takes_effect(self):
        runs = get("config_effects")
        # capabilities: FILE_TEMP from the config gives a temp folder ...
        res = self.outcome(runs["temp_cfg"], "completed", 0, "Success")
        self.assertTrue(res["report"]["temp_file_in"])
        # ... which the default capabilities do not.
        res = self.outcome(runs["temp_default"], "security", 3)
        self.assertTrue(any(d.get("capability") == "FILE_TEMP" for d in res["denied"]),
                        res["denied"])
        # capabilities: no LOG_ERROR in the config, so stderr is not logged.
        res = self.outcome(runs["stderr_cfg"], "completed", 0, "Success")
        self.assertIn({"level": "INFO", "message": "to stdout"}, res["logs"])
        self.assertNotIn("ERROR", [e["level"] for e in res["logs"]])
        res = self.outcome(runs["stderr_default"], "completed", 0, "Success")
        self.assertIn({"level": "ERROR", "message": "to stderr"}, res["logs"])
        # resource_limits.timeout_seconds 1.5
        res = self.outcome(runs["sleep_cfg"], "timeout", 4)
        self.assertGreaterEqual(res["usage"]["wall_ms"], 1400)
        self.assertLess(res["usage"]["wall_ms"], 2600)
        # a command-line option beats the config
        self.outcome(runs["sleep_cli_override"], "completed", 0, "Success")
        # resource_limits.memory_mb 128
        self.outcome(runs["alloc_cfg"], "memory_limit", 5)
        res = self.outcome(runs["alloc_default"], "completed", 0, "Success")
        self.assertEqual(res["report"]["allocated"], 200 * MIB)

    @uses("bad_configs")
    def test_bad_config_names_the_key_path(self):
        runs = get("bad_configs")
        for key, (_, needles) in BAD_CONFIGS.items():
            with self.subTest(key):
                self.usage_error(runs[key], *needles)
        with self.subTest("missing_file"):
            self.usage_error(runs["missing_file"], "no-such-config.json")


# ---------------------------------------------------------------------------
# Main


def _tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _tests(t)
        else:
            yield t


def main():
    global CONVBOX, JOBS
    ap = argparse.ArgumentParser(description="Integration tests of `convbox run`.")
    ap.add_argument("--convbox", default=CONVBOX, help="the convbox binary (or env CONVBOX)")
    ap.add_argument("--jobs", type=int, default=JOBS, help="commands run at once")
    ap.add_argument("-k", action="append", default=[], help="only tests matching this substring")
    ap.add_argument("-v", action="store_const", const=2, dest="verbosity", default=1)
    ap.add_argument("-q", action="store_const", const=0, dest="verbosity")
    opts = ap.parse_args()
    if not opts.convbox:
        ap.error("--convbox is required")
    CONVBOX = os.path.abspath(opts.convbox)
    if not os.access(CONVBOX, os.X_OK):
        ap.error("not an executable: " + CONVBOX)
    JOBS = max(1, opts.jobs)
    # An unlimited stack would let the segfault fixture's C recursion grow
    # into the memory limit instead of faulting; give children 8 MiB at most.
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft == resource.RLIM_INFINITY or soft > 8 * MIB:
        resource.setrlimit(resource.RLIMIT_STACK, (8 * MIB if hard == resource.RLIM_INFINITY
                                                   else min(8 * MIB, hard), hard))

    loader = unittest.TestLoader()
    if opts.k:
        loader.testNamePatterns = ["*%s*" % k for k in opts.k]
    suite = loader.loadTestsFromModule(sys.modules[__name__])
    needed = []
    for t in _tests(suite):
        for n in getattr(getattr(t, t._testMethodName, None), "scenarios", ()):
            if n not in needed:
                needed.append(n)
    order = list(SCENARIOS)
    needed.sort(key=order.index)  # slow scenarios are registered first

    start = time.monotonic()
    try:
        submit(needed)
        result = unittest.TextTestRunner(verbosity=opts.verbosity).run(suite)
    finally:
        if _POOL is not None:
            _POOL.shutdown(wait=True, cancel_futures=True)
        if WORK:
            shutil.rmtree(WORK, ignore_errors=True)
    print("convbox run integration: %d tests, %d scenarios, %.1f s" %
          (result.testsRun, len(needed), time.monotonic() - start), file=sys.stderr)
    if opts.verbosity > 1:
        slow = sorted(DURATIONS.items(), key=lambda kv: -kv[1])[:10]
        print("slowest scenarios: " + ", ".join("%s %.1f s" % kv for kv in slow), file=sys.stderr)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
