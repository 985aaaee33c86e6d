"""Escape suite: run every hostile converter in tests/escape/cases through
`convbox run` in the real sandbox and prove the outcome and that nothing
happened.

Run with Debian's interpreter in isolated mode:

    /usr/bin/python3.11 -I tests/escape/run_escape.py --convbox build/convbox
        [--filter SUBSTR] [--jobs N] [--as-user] [--keep] [--verbose]

Theory of operation
-------------------
For each case the harness builds a "station": a private temp dir under the
host's /tmp (never visible inside the sandbox) holding a secret file with a
random token, a world-writable canary dir, the input file, the converter, an
empty output dir, and four listeners run by the harness: TCP and UDP on
127.0.0.1, a pathname unix socket and an abstract unix socket. Their
coordinates are passed to the converter with --arg.

convbox runs inside an outer cap that holds even if the sandbox is broken:
a pids cgroup per case (when one can be made), and a fresh pid + mount
namespace whose pid 1 is outer_init.py. outer_init refuses to run unless
it is pid 1; it starts a sentinel process that records any signal, runs
convbox under a wall timeout, lists processes left in the namespace, ends
them by pid and writes a summary. When it exits the kernel kills whatever
else is in the namespace.

After the run the harness checks, for every case: the outcome against the
case's `expect:` lines, the exit code against the outcome, the secret token
and the host-environment token appear nowhere in stdout, stderr or the
output dir, the output dir holds only regular files and directories, the
station (secret, canary, input, converter) is unchanged, no listener saw a
connection (unless the case says `network: tcp`), the sentinel got no signal
and is alive, no process outlived the job, and the outer caps were not hit.

The header a case carries is described in tests/escape/README.md.
"""

import argparse
import concurrent.futures
import json
import os
import re
import secrets
import selectors
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")
OUTER_INIT = os.path.join(HERE, "outer_init.py")
PYTHON = "/usr/bin/python3.11"

OUTCOMES = {"completed", "converter_error", "security", "timeout", "cpu_limit", "memory_limit",
            "output_limit", "crashed", "protocol", "sandbox_error", "usage"}
EXIT_CODES = {"converter_error": 1, "usage": 2, "security": 3, "timeout": 4, "cpu_limit": 5,
              "memory_limit": 5, "output_limit": 5, "crashed": 6, "protocol": 6,
              "sandbox_error": 6}
LAYERS = ("validator", "audit-hook", "seccomp", "landlock", "mount", "userns", "pidns", "netns",
          "rlimit", "timeout", "host", "capability")
# Named configs a case can ask for with `config: NAME`. blocked_imports is
# spelled out because a config's list replaces the default one: "native"
# only takes ctypes off it, "open-imports" empties it (and lets subprocess load
# its _posixsubprocess helper) so that a granted capability is reached by
# subprocess/socket instead of stopping at the import.
DEFAULT_BLOCKED = ["subprocess", "os.system", "socket", "ctypes", "multiprocessing"]
CONFIGS = {
    "native": {"sandbox": {"native_modules": ["ctypes", "_ctypes"],
                           "blocked_imports": [m for m in DEFAULT_BLOCKED if m != "ctypes"]}},
    "open-imports": {"sandbox": {"blocked_imports": [], "native_modules": ["_posixsubprocess"]}},
}
DEFAULT_TIMEOUT = "10"
DEFAULT_MAX_OUTPUT_MB = 100
OUTER_MARGIN = 20.0
PIDS_MAX = 256
USER_NPROC = 4096
NOBODY = 65534
STATION_ROOT = "/var/tmp"  # outside the sandbox's view, and not /tmp, whose name FILE_TEMP owns


# ----------------------------------------------------------------- case headers

class CaseError(Exception):
    pass


CHECK_RE = re.compile(r"^([A-Za-z_][\w.\-]*)(<=|>=|!=|\^=|~=|=|<|>)(.*)$")


def parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_expect(text):
    words = shlex.split(text)
    if not words or words[0] not in OUTCOMES:
        raise CaseError(f"expect: unknown outcome in {text!r}")
    checks = []
    for word in words[1:]:
        m = CHECK_RE.match(word)
        if not m:
            raise CaseError(f"expect: bad check {word!r}")
        checks.append((m.group(1), m.group(2), parse_value(m.group(3))))
    return {"outcome": words[0], "checks": checks}


class Case:
    """One hostile converter and what its header says must happen."""

    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.escape = ""
        self.layers = []
        self.args = []
        self.caps = []
        self.config = None
        self.expects = []
        self.denied_caps = []
        self.network = set()
        self.outputs = []
        self.logs = []
        self.no_logs = []
        self.absent = []
        self.xfail = None
        self._parse()

    def _parse(self):
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    break
                key, sep, value = line[1:].strip().partition(":")
                if sep:
                    self._header(key.strip().lower(), value.strip())
        if not self.escape or not self.layers or not self.expects:
            raise CaseError(f"{self.name}: header needs escape:, layer: and expect:")
        unknown = [l for l in self.layers if l not in LAYERS]
        if unknown:
            raise CaseError(f"{self.name}: unknown layer {unknown}")

    def _header(self, key, value):
        if key == "escape":
            self.escape = value
        elif key == "layer":
            self.layers += [v.strip() for v in value.split(",") if v.strip()]
        elif key == "args":
            self.args += shlex.split(value)
        elif key == "caps":
            self.caps += value.replace(",", " ").split()
        elif key == "config":
            if value not in CONFIGS:
                raise CaseError(f"{self.name}: config: one of {sorted(CONFIGS)}")
            self.config = value
        elif key == "expect":
            self.expects.append(parse_expect(value))
        elif key == "denied-capability":
            self.denied_caps.append(None if value == "null" else value.upper())
        elif key == "network":
            self.network |= set(value.split())
        elif key == "output":
            self.outputs.append(value)
        elif key == "log":
            level, _, text = value.partition(" ")
            self.logs.append((level.lower(), text.strip()))
        elif key == "no-log":
            self.no_logs.append(value)
        elif key == "absent":
            self.absent.append(value)
        elif key == "xfail":
            self.xfail = value

    def max_output_bytes(self):
        mib = DEFAULT_MAX_OUTPUT_MB
        if "--max-output" in self.args:
            mib = float(self.args[self.args.index("--max-output") + 1])
        return int(mib * (1 << 20))

    def timeout(self):
        if "--timeout" in self.args:
            return float(self.args[self.args.index("--timeout") + 1])
        return float(DEFAULT_TIMEOUT)


PATHS = ("zygote", "cold")  # how convbox runs a job: a prepared spare, or a fresh runner


def load_cases(filter_text, paths=PATHS):
    """Every case once per path: the layers are applied by different code on each
    (a spare arms itself before its job is known; a cold job confines itself at once)."""
    cases = []
    for name in sorted(os.listdir(CASES_DIR)):
        if name.endswith(".py") and re.match(r"^\d{3}_", name):
            if filter_text and filter_text not in name:
                continue
            for path in paths:
                case = Case(os.path.join(CASES_DIR, name))
                if path == "cold":
                    case.name += "@cold"
                    case.args = case.args + ["--cold"]
                cases.append(case)
    return cases


# ------------------------------------------------------------------- listeners

class Listeners:
    """TCP, UDP, pathname-unix and abstract-unix listeners that record contacts."""

    def __init__(self, station_dir):
        self.contacts = []
        self.sel = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(16)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.unix_path = os.path.join(station_dir, "harness.sock")
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(self.unix_path)
        os.chmod(self.unix_path, 0o777)
        self.unix.listen(16)
        self.abstract_name = "convbox-escape-" + secrets.token_hex(8)
        self.abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen(16)
        for kind, sock in (("tcp", self.tcp), ("udp", self.udp), ("unix", self.unix),
                           ("abstract", self.abstract)):
            sock.setblocking(False)
            self.sel.register(sock, selectors.EVENT_READ, kind)
        self.sel.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            for key, _ in self.sel.select():
                kind = key.data
                if kind == "wake":
                    return
                try:
                    self._contact(kind, key.fileobj)
                except OSError:
                    pass

    def _contact(self, kind, sock):
        if kind == "udp":
            data, peer = sock.recvfrom(65536)
            self.contacts.append({"kind": kind, "peer": str(peer), "data": data[:200]})
            return
        conn, peer = sock.accept()
        conn.settimeout(0.5)
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        conn.close()
        self.contacts.append({"kind": kind, "peer": str(peer), "data": data[:200]})

    def close(self):
        os.write(self.wake_w, b"x")
        self.thread.join(5)
        for sock in (self.tcp, self.udp, self.unix, self.abstract):
            sock.close()
        os.close(self.wake_r)
        os.close(self.wake_w)


# --------------------------------------------------------------------- station

def iter_tree(root, skip=()):
    """Yield (relpath, lstat) under root without recursion or following links
    (a hostile output may nest thousands of directories)."""
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel) if rel else root) as it:
                names = [e.name for e in it]
        except OSError:
            continue
        for name in names:
            child = os.path.join(rel, name) if rel else name
            if child in skip:
                continue
            try:
                st = os.lstat(os.path.join(root, child))
            except OSError:
                continue
            yield child, st
            if stat.S_ISDIR(st.st_mode):
                stack.append(child)


def snapshot(root, skip):
    """Map every path under root (not under skip) to (type, size, mtime, mode, links)."""
    return {rel: (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, st.st_mode, st.st_nlink)
            for rel, st in iter_tree(root, skip)}


def remove_tree(path):
    """Remove a tree the harness made; GNU rm copes with any depth and never
    follows symlinks."""
    subprocess.run(["rm", "-rf", "--one-file-system", "--", path], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Station:
    """Everything a case could try to reach, outside the sandbox's view."""

    def __init__(self, suite_dir, case):
        self.dir = tempfile.mkdtemp(prefix=case.name[:3] + "-", dir=suite_dir)
        os.chmod(self.dir, 0o755)
        self.token = "CVBSECRET-" + secrets.token_hex(16)
        self.env_token = "CVBHOSTENV-" + secrets.token_hex(16)
        self.marker = "cvbesc" + secrets.token_hex(6)
        self.secret = self._file("secret.txt", f"station secret: {self.token}\n", 0o644)
        self.canary = self._dir("canary", 0o777)
        self.input_dir = self._dir("input", 0o755)
        self.input = self._file("input/sample.csv", "serial,value\nSN1,42\nSN2,43\n", 0o644)
        self.conv_dir = self._dir("conv", 0o755)
        self.converter = os.path.join(self.conv_dir, os.path.basename(case.path))
        shutil.copyfile(case.path, self.converter)
        os.chmod(self.converter, 0o644)
        self.out = self._dir("out", 0o755)
        self.run = self._dir("run", 0o700)
        self.config = None
        if case.config:
            self.config = os.path.join(self.run, case.config + ".json")
            with open(self.config, "w") as f:
                json.dump(CONFIGS[case.config], f)
        self.listeners = Listeners(self.dir)
        self.before = snapshot(self.dir, {"out", "run"})
        with open(self.input, "rb") as f:
            self.input_bytes = f.read()

    def _file(self, rel, text, mode):
        path = os.path.join(self.dir, rel)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def _dir(self, rel, mode):
        path = os.path.join(self.dir, rel)
        os.mkdir(path)
        os.chmod(path, mode)
        return path

    def converter_args(self):
        lst = self.listeners
        pairs = [("secret", self.secret), ("canary_dir", self.canary), ("station", self.dir),
                 ("tcp_port", lst.tcp.getsockname()[1]), ("udp_port", lst.udp.getsockname()[1]),
                 ("unix_sock", lst.unix_path), ("abstract", lst.abstract_name),
                 ("marker", self.marker)]
        out = []
        for key, value in pairs:
            out += ["--arg", f"{key}={value}"]
        return out

    def close(self, keep):
        self.listeners.close()
        if not keep:
            remove_tree(self.dir)


# ---------------------------------------------------------------- outer caps

def own_cgroup(controller):
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(",") or (ctrls == "" and controller == ""):
                return path
    return None


def find_pids_cgroup_root():
    """Directory of our own pids cgroup (v1 pids hierarchy, or v2), or None."""
    with open("/proc/self/mounts") as f:
        mounts = [line.split() for line in f]
    for dev, mnt, fstype, opts, *_ in mounts:
        if fstype == "cgroup" and "pids" in opts.split(","):
            rel = own_cgroup("pids")
            if rel is not None:
                return os.path.join(mnt, rel.lstrip("/"))
    for dev, mnt, fstype, opts, *_ in mounts:
        if fstype == "cgroup2":
            rel = own_cgroup("")
            path = os.path.join(mnt, (rel or "/").lstrip("/"))
            try:
                with open(os.path.join(path, "cgroup.controllers")) as f:
                    if "pids" in f.read().split():
                        return path
            except OSError:
                pass
    return None


class CgroupSuite:
    """A parent pids cgroup for the suite, one child per case."""

    def __init__(self, parent):
        self.path = None
        if parent:
            self.path = parent if os.path.isdir(parent) else None
            self.owned = False
            return
        self.owned = True
        root = find_pids_cgroup_root()
        if not root:
            return
        path = os.path.join(root, "convbox-escape-" + secrets.token_hex(4))
        try:
            os.mkdir(path)
        except OSError:
            return
        if not os.path.exists(os.path.join(path, "pids.max")):
            os.rmdir(path)
            return
        self.path = path

    def case_group(self, name, limit):
        if not self.path:
            return None
        path = os.path.join(self.path, name)
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(limit))
        except OSError:
            return None
        return path

    @staticmethod
    def hit_limit(path):
        try:
            with open(os.path.join(path, "pids.events")) as f:
                return int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            return 0

    @staticmethod
    def remove_group(path):
        for _ in range(50):
            try:
                with open(os.path.join(path, "cgroup.procs")) as f:
                    pids = [int(p) for p in f.read().split()]
            except OSError:
                pids = []
            for pid in pids:  # end leftovers by their pid
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(path)
                return pids
            except OSError:
                time.sleep(0.05)
        return pids

    def close(self):
        if self.path and self.owned:
            try:
                os.rmdir(self.path)
            except OSError:
                pass


def unshare_prefix():
    """The outer pid + mount namespace; as non-root also a user namespace
    that maps us to ourselves, so convbox still runs unprivileged."""
    base = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if os.getuid() != 0:
        base[1:1] = ["--user", f"--map-user={os.getuid()}", f"--map-group={os.getgid()}"]
    return base


def check_outer_namespace():
    """Refuse to run hostile code if the outer pid namespace does not work."""
    cmd = unshare_prefix() + [PYTHON, "-I", "-c", "import os; print(os.getpid())"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if out == "1" else f"outer pid namespace unavailable ({' '.join(cmd)} printed {out!r})"


# ------------------------------------------------------------------ running

def convbox_command(convbox, case, station):
    base = [PYTHON, "-I", convbox] if convbox.endswith(".py") else [convbox]
    cmd = base + ["run", station.converter, station.input, "--output-dir", station.out]
    cmd += station.converter_args()
    for cap in case.caps:
        cmd += ["--cap", cap]
    if station.config:
        cmd += ["--config", station.config]
    cmd += case.args
    if "--timeout" not in case.args:
        cmd += ["--timeout", DEFAULT_TIMEOUT]
    return cmd


def run_case_process(convbox, case, station, cgroups):
    outer_timeout = case.timeout() + OUTER_MARGIN
    paths = {k: os.path.join(station.run, k) for k in ("stdout", "stderr", "summary")}
    shim = [PYTHON, "-I", OUTER_INIT, "--summary", paths["summary"], "--stdout", paths["stdout"],
            "--stderr", paths["stderr"], "--timeout", str(outer_timeout),
            "--env", f"CVB_ESCAPE_HOST_TOKEN={station.env_token}", "--"]
    cmd = unshare_prefix() + shim + convbox_command(convbox, case, station)
    group = cgroups.case_group(case.name, PIDS_MAX)
    if group:
        cmd = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', group] + cmd
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    harness_killed = False
    try:
        _, err = proc.communicate(timeout=outer_timeout + 15)
    except subprocess.TimeoutExpired:
        harness_killed = True
        proc.kill()  # the unshare process, by pid; --kill-child takes the namespace down
        _, err = proc.communicate()
    run = {"elapsed": time.monotonic() - started, "harness_killed": harness_killed,
           "wrapper_rc": proc.returncode, "wrapper_err": err.decode(errors="replace")[-2000:],
           "cgroup_hits": 0, "cgroup_left": []}
    if group:
        run["cgroup_hits"] = CgroupSuite.hit_limit(group)
        run["cgroup_left"] = CgroupSuite.remove_group(group)
    for key, path in paths.items():
        try:
            with open(path, "rb") as f:
                run[key] = f.read()
        except OSError:
            run[key] = None
    try:
        run["summary"] = json.loads(run["summary"]) if run["summary"] else None
    except ValueError:
        run["summary"] = None
    return run


# ------------------------------------------------------------------ checking

def strict_json(line):
    def no_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(line, parse_constant=no_constant)


def lookup(obj, path):
    cur = obj
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return KeyError
    return cur


def check_holds(result, path, op, want):
    got = lookup(result, path)
    if got is KeyError:
        return False, f"{path} missing"
    if op == "=":
        ok = got == want or (isinstance(want, str) and isinstance(got, str)
                             and path == "status" and got.lower() == want.lower())
    elif op == "!=":
        ok = got != want
    elif op == "^=":
        ok = isinstance(got, str) and got.startswith(str(want))
    elif op == "~=":
        ok = str(want) in (got if isinstance(got, str) else json.dumps(got))
    else:
        try:
            ok = {"<=": got <= want, ">=": got >= want, "<": got < want, ">": got > want}[op]
        except TypeError:
            ok = False
    return ok, None if ok else f"{path}{op}{json.dumps(want)} but got {json.dumps(got)[:200]}"


def match_expect(expect, result, rc):
    want = expect["outcome"]
    if want == "usage":
        return (rc == 2, None) if rc == 2 else (False, f"usage error (exit 2), got exit {rc}")
    if result is None:
        return False, "no result line"
    got = result.get("outcome")
    if got != want:
        return False, f"outcome {got}"
    for path, op, value in expect["checks"]:
        ok, why = check_holds(result, path, op, value)
        if not ok:
            return False, why
    return True, None


def describe(result, rc):
    if result is None:
        return f"no result (exit {rc})"
    bits = [str(result.get("outcome"))]
    if result.get("status"):
        bits.append(str(result.get("status")))
    text = "/".join(bits) + f" exit {rc}"
    if result.get("error"):
        text += f" error={str(result.get('error'))[:300]!r}"
    if result.get("report") is not None:
        text += f" report={json.dumps(result.get('report'))[:300]}"
    if result.get("denied"):
        text += f" denied={json.dumps(result.get('denied'))[:300]}"
    return text


def expected_exit(result):
    outcome = result.get("outcome")
    if outcome == "completed":
        return 0 if str(result.get("status", "")).lower() == "success" else 1
    return EXIT_CODES.get(outcome)


def walk_output(out_dir, tokens, max_bytes):
    """Problems in the host output dir: odd file types, leaked tokens, size."""
    problems = []
    total = 0
    for rel, st in iter_tree(out_dir):
        if any(t in rel for t in tokens):
            problems.append(f"output name {rel!r} holds a secret token")
        if stat.S_ISDIR(st.st_mode):
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"output {rel!r} is not a regular file (mode {oct(st.st_mode)})")
            continue
        total += st.st_size
        try:
            with open(os.path.join(out_dir, rel), "rb") as f:
                data = f.read(1 << 24)
        except OSError:
            continue
        for t in tokens:
            if t.encode() in data:
                problems.append(f"output file {rel!r} holds a secret token")
    if total > max_bytes:
        problems.append(f"output dir holds {total} bytes, over the --max-output budget {max_bytes}")
    return problems


def parse_stdout(data, problems):
    results = []
    for line in (data or b"").splitlines():
        if not line.strip():
            continue
        try:
            obj = strict_json(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            problems.append(f"stdout line is not strict JSON ({e}): {line[:120]!r}")
            continue
        if isinstance(obj, dict):
            results.append(obj)
        else:
            problems.append(f"stdout line is not an object: {line[:120]!r}")
    return results


def check_outcome(case, result, rc, problems):
    reasons = []
    for exp in case.expects:
        ok, why = match_expect(exp, result, rc)
        if ok:
            return exp
        reasons.append(f"{exp['outcome']}: {why}")
    wanted = " | ".join(e["outcome"] for e in case.expects)
    problems.append(f"expected {wanted}, got {describe(result, rc)} [{'; '.join(reasons)}]")
    return None


def check_result_fields(case, matched, result, rc, problems):
    if result is None or matched is None or matched["outcome"] == "usage":
        return
    want_rc = expected_exit(result)
    if want_rc is not None and rc != want_rc:
        problems.append(f"exit code {rc} does not match outcome {result.get('outcome')} "
                        f"(expected {want_rc})")
    denied = result.get("denied") or []
    runtime = "--skip-validation" in case.args
    if result.get("outcome") == "security" and runtime and not denied:
        problems.append("security outcome with an empty denied list")
    if result.get("outcome") == "security":
        for cap in case.denied_caps:
            if not any(isinstance(d, dict) and d.get("capability") == cap for d in denied):
                problems.append(f"no denied entry with capability {cap}: {json.dumps(denied)[:300]}")
    logs = [l for l in (result.get("logs") or []) if isinstance(l, dict)]
    for level, text in case.logs:
        if not any((level == "*" or str(l.get("level", "")).lower() == level)
                   and text in str(l.get("message", "")) for l in logs):
            problems.append(f"no {level} log containing {text!r}: {json.dumps(logs)[:300]}")
    for text in case.no_logs:
        if any(text in str(l.get("message", "")) for l in logs):
            problems.append(f"a log contains {text!r} but must not")
    bare = {k: v for k, v in result.items() if k not in ("logs",)}
    for text in case.absent:
        if text in json.dumps(bare):
            problems.append(f"result (outside logs) contains {text!r}")


def check_station(case, station, problems):
    after = snapshot(station.dir, {"out", "run"})
    for rel in sorted(set(after) - set(station.before)):
        problems.append(f"new file in the station: {rel}")
    for rel in sorted(set(station.before) - set(after)):
        problems.append(f"file vanished from the station: {rel}")
    for rel in sorted(set(after) & set(station.before)):
        if after[rel] != station.before[rel] and rel != "harness.sock":
            problems.append(f"station file changed: {rel}")
    with open(station.input, "rb") as f:
        if f.read() != station.input_bytes:
            problems.append("input file content changed")
    for name in case.outputs:
        if not os.path.isfile(os.path.join(station.out, name)):
            problems.append(f"expected output file {name!r} is not in the output dir")


def check_contacts(case, station, problems):
    contacts = list(station.listeners.contacts)
    allowed = case.network
    for c in contacts:
        if c["kind"] not in allowed:
            problems.append(f"{c['kind']} listener was contacted: {c['data'][:80]!r}")
    for kind in allowed:
        if not any(c["kind"] == kind for c in contacts):
            problems.append(f"{kind} listener was not reached though the capability was granted")


def check_outer(run, problems):
    summary = run.get("summary")
    if summary is None:
        problems.append(f"outer init wrote no summary (wrapper exit {run['wrapper_rc']}: "
                        f"{run['wrapper_err'].strip()[-300:]})")
        return
    if run["harness_killed"]:
        problems.append("harness had to kill the outer namespace")
    if summary["timed_out"]:
        problems.append(f"convbox itself hung past the outer wall timeout ({summary['elapsed']}s)")
    if summary["leftovers"]:
        procs = ", ".join(f"{p['pid']}:{p['comm']}:{p['cmdline'][:60]!r}" for p in summary["leftovers"])
        problems.append(f"processes outlived the job: {procs}")
    if summary["signals"]:
        problems.append(f"sentinel received signals {summary['signals']}")
    if not summary["sentinel_alive"]:
        problems.append(f"sentinel died (status {summary['sentinel_status']})")
    if run["cgroup_hits"]:
        problems.append(f"outer pids cgroup limit ({PIDS_MAX}) was hit {run['cgroup_hits']} times")
    if run["cgroup_left"]:
        problems.append(f"processes left in the case cgroup: {run['cgroup_left']}")


def host_processes_with(marker):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(name))
        except OSError:
            pass
    return found


def evaluate(case, station, run):
    problems = []
    check_outer(run, problems)
    summary = run.get("summary") or {}
    rc = summary.get("rc")
    results = parse_stdout(run.get("stdout"), problems)
    result = results[0] if results else None
    usage_ok = any(e["outcome"] == "usage" for e in case.expects) and rc == 2
    if len(results) != 1 and not (usage_ok and not results):
        problems.append(f"{len(results)} result lines on stdout, expected 1")
    matched = check_outcome(case, result, rc, problems)
    check_result_fields(case, matched, result, rc, problems)
    tokens = [station.token, station.env_token]
    for stream in ("stdout", "stderr"):
        for t in tokens:
            if t.encode() in (run.get(stream) or b""):
                problems.append(f"a secret token appears on {stream}")
    problems += walk_output(station.out, tokens, case.max_output_bytes())
    check_station(case, station, problems)
    check_contacts(case, station, problems)
    stray = host_processes_with(station.marker)
    for pid in stray:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if stray:
        problems.append(f"host processes carrying the case marker survived: {stray}")
    return problems, result, rc


def run_case(convbox, case, suite_dir, cgroups, keep):
    station = Station(suite_dir, case)
    try:
        run = run_case_process(convbox, case, station, cgroups)
        problems, result, rc = evaluate(case, station, run)
    except Exception as e:  # a harness bug must show as a failure, not a crash
        problems, result, rc, run = [f"harness error: {e!r}"], None, None, {"elapsed": 0}
    station.close(keep and bool(problems))
    return {"case": case, "problems": problems, "result": result, "rc": rc,
            "elapsed": run.get("elapsed", 0), "station": station.dir,
            "stderr": (run.get("stderr") or b"")[-1500:]}


# ------------------------------------------------------------------ reporting

def verdict(entry):
    case, problems = entry["case"], entry["problems"]
    if case.xfail:
        return ("xfail", problems) if problems else ("FAIL", ["XPASS: remove the xfail mark"])
    return ("FAIL", problems) if problems else ("ok", [])


def print_entry(entry, verbose):
    word, problems = verdict(entry)
    case = entry["case"]
    shown = describe(entry["result"], entry["rc"]) if entry["result"] or entry["rc"] is not None else "-"
    line = f"{word:5} {case.name:42} {entry['elapsed']:5.1f}s  {shown[:160]}"
    print(line, flush=True)
    for p in problems:
        print(f"        - {p}", flush=True)
    if word == "xfail":
        print(f"        (xfail: {case.xfail})", flush=True)
    if (problems or verbose) and entry["stderr"]:
        tail = entry["stderr"].decode(errors="replace").strip().splitlines()[-6:]
        for t in tail:
            print(f"        stderr| {t[:200]}", flush=True)


def summarize(entries, cases):
    counts = {"ok": 0, "FAIL": 0, "xfail": 0}
    for e in entries:
        counts[verdict(e)[0]] += 1
    by_layer = {}
    for c in cases:
        for layer in c.layers:
            by_layer[layer] = by_layer.get(layer, 0) + 1
    print("")
    print("cases by layer: " + ", ".join(f"{k} {by_layer[k]}" for k in LAYERS if k in by_layer))
    print(f"escape suite: {len(entries)} cases, {counts['ok']} ok, {counts['FAIL']} failed, "
          f"{counts['xfail']} xfail (uid {os.getuid()})")
    failed = [e["case"].name for e in entries if verdict(e)[0] == "FAIL"]
    if failed:
        print("failed: " + " ".join(failed))
    return 1 if failed else 0


# ------------------------------------------------------------------ as-user

def copy_suite_for_user(convbox, filter_text):
    """Copy the harness, the cases and both binaries somewhere nobody can read."""
    tmp = tempfile.mkdtemp(prefix="convbox-escape-user-", dir="/tmp")
    os.chmod(tmp, 0o755)
    suite = os.path.join(tmp, "suite")
    shutil.copytree(HERE, suite, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    src_dir = os.path.dirname(os.path.abspath(convbox))
    names = [os.path.basename(convbox)]
    if not convbox.endswith(".py"):
        names.append("convbox-runner")
    for name in names:
        if os.path.exists(os.path.join(src_dir, name)):
            shutil.copy2(os.path.join(src_dir, name), os.path.join(bindir, name))
    for dirpath, dirnames, filenames in os.walk(tmp):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            os.chmod(path, os.stat(path).st_mode | 0o444 | (0o111 if os.path.isdir(path) else 0))
    return tmp, os.path.join(suite, "run_escape.py"), os.path.join(bindir, names[0])


def run_as_user(args):
    tmp, script, convbox = copy_suite_for_user(args.convbox, args.filter)
    cg = CgroupSuite(None)
    try:
        if cg.path:
            for entry in [cg.path] + [os.path.join(cg.path, n) for n in os.listdir(cg.path)]:
                os.chown(entry, NOBODY, NOBODY)
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
               PYTHON, "-I", script, "--convbox", convbox, "--jobs", str(args.jobs),
               "--paths", args.paths]
        if args.filter:
            cmd += ["--filter", args.filter]
        if args.verbose:
            cmd += ["--verbose"]
        if cg.path:
            cmd += ["--cgroup-parent", cg.path]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "HOME": "/nonexistent"}
        return subprocess.run(cmd, env=env, cwd="/", stdin=subprocess.DEVNULL).returncode
    finally:
        cg.close()
        remove_tree(tmp)


# ------------------------------------------------------------------ main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--convbox", required=True, help="the built convbox binary")
    p.add_argument("--filter", help="only cases whose file name contains this")
    p.add_argument("--paths", default=",".join(PATHS),
                   help="comma-separated: zygote (a prepared spare), cold (a fresh runner); "
                        "every case runs on each")
    p.add_argument("--jobs", type=int, default=max(2, os.cpu_count() or 2))
    p.add_argument("--as-user", action="store_true", help=f"run as uid/gid {NOBODY}")
    p.add_argument("--require-root", action="store_true",
                   help="exit 77 (skipped) unless running as root")
    p.add_argument("--keep", action="store_true", help="keep the station of failed cases")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--cgroup-parent", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    args.convbox = os.path.abspath(args.convbox)
    if not os.path.exists(args.convbox):
        print(f"run_escape: {args.convbox} does not exist", file=sys.stderr)
        return 2
    if args.require_root and os.getuid() != 0:
        print("run_escape: not root; the root run is skipped")
        return 77
    if args.as_user and os.getuid() == 0:
        return run_as_user(args)
    try:
        paths = [p for p in args.paths.split(",") if p]
        if not paths or any(p not in PATHS for p in paths):
            raise CaseError(f"--paths: choose from {', '.join(PATHS)}")
        cases = load_cases(args.filter, paths)
    except CaseError as e:
        print(f"run_escape: {e}", file=sys.stderr)
        return 2
    if not cases:
        print("run_escape: no case matches", file=sys.stderr)
        return 2
    problem = check_outer_namespace()
    if problem:
        print(f"run_escape: refusing to run hostile converters: {problem}", file=sys.stderr)
        return 2
    if os.getuid() != 0:
        import resource
        resource.setrlimit(resource.RLIMIT_NPROC, (USER_NPROC, USER_NPROC))
    cgroups = CgroupSuite(args.cgroup_parent)
    if not cgroups.path:
        print("run_escape: note: no pids cgroup; the outer pid namespace is the only process cap")
    suite_dir = tempfile.mkdtemp(prefix="convbox-escape-", dir=STATION_ROOT)
    os.chmod(suite_dir, 0o755)
    entries = []
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(run_case, args.convbox, c, suite_dir, cgroups, args.keep)
                       for c in cases]
            for fut in concurrent.futures.as_completed(futures):
                entry = fut.result()
                entries.append(entry)
                print_entry(entry, args.verbose)
    finally:
        cgroups.close()
        if not args.keep:
            remove_tree(suite_dir)
    entries.sort(key=lambda e: e["case"].name)
    return summarize(entries, cases)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
