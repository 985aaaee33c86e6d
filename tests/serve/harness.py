"""Shared pieces of the `convbox serve` integration tests.

A Station is a temporary folder with converters, a config and drop folders;
it starts `convbox serve` on it (stderr to a log file), waits for
conditions, and stops it. Only processes started here are signalled, by pid.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# A converter driven by its input: lines "key=value". kind selects the answer:
# ok (one report), two (two reports), fail (Failed), raise (an exception),
# two_bad (two reports, the second with a bad id), two_same_id (two reports, one id),
# suspend (Suspended, retry_after from the file), skip (Skipped), own_id (sets
# its own report id), bad_id (an id that is no UUID), own_station (sets
# machineName), peek (reads a file it was not given). sleep=S and spin=S make
# it take S seconds of wall or CPU time first; post=ACTION picks the post action.
TEST_CONVERTER = r'''
import hashlib
import time
import uuid


class TestConverter:
    name = "TestConverter"

    def convert_file(self, file_path, args):
        data = file_path.read_bytes()
        fields = {}
        for line in data.decode("utf-8").splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                fields[k.strip()] = v.strip()
        kind = fields.get("kind", "ok")
        if "sleep" in fields:
            time.sleep(float(fields["sleep"]))
        if "spin" in fields:
            end = time.process_time() + float(fields["spin"])
            while time.process_time() < end:
                pass
        if kind == "fail":
            return {"status": "Failed", "error": "kind=fail in " + file_path.name}
        if kind == "raise":
            raise ValueError("kind=raise in " + file_path.name)
        if kind == "suspend":
            return {"status": "Suspended", "retry_after": float(fields.get("retry", "0.05")),
                    "suspend_reason": "waiting"}
        if kind == "skip":
            return {"status": "Skipped"}
        report = {
            "type": "T",
            "pn": args.get("pn", "PN"),
            "sn": fields.get("sn", file_path.name),
            "rev": "A",
            "result": "P",
            "converter": args.get("tag", ""),
            "version": VERSION,
            "lines": len(data.splitlines()),
            "sha256": hashlib.sha256(data).hexdigest(),
            "value": 1.10000000000000009,
        }
        if kind == "own_id":
            report["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "test/" + fields.get("sn", "")))
        if kind == "bad_id":
            report["id"] = "../" + fields.get("sn", "")
        if kind == "own_station":
            report["machineName"] = "FROM-CONVERTER"
        if kind == "peek":
            report["peek"] = open("/etc/hostname").read()
        post = fields.get("post")
        result = {"status": "Success", "report": report, "metadata": {"kind": kind}}
        if kind in ("two", "two_bad", "two_same_id"):
            second = dict(report)
            second["sn"] = report["sn"] + "-2"
            if kind == "two_bad":
                second["id"] = "not-a-uuid"
            if kind == "two_same_id":
                report["id"] = second["id"] = str(uuid.uuid4())
            result = {"status": "Success", "reports": [report, second]}
        if post:
            result["post_action"] = post
        print("converted", file_path.name)
        return result
'''


def converter_source(version=1):
    return TEST_CONVERTER.replace("VERSION", str(version))


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Station:
    def __init__(self, convbox, name="station"):
        self.convbox = convbox
        self.root = tempfile.mkdtemp(prefix="cvb-%s-" % name)
        self.proc = None
        self.log_path = os.path.join(self.root, "serve.log")
        self.log = None
        self.starts = 0

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, rel, text, mode="w"):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, mode) as f:
            f.write(text)
        return p

    def drop(self, folder, name, text, via_rename=False):
        """Put a complete file into a watch folder: written in place, or renamed in."""
        os.makedirs(self.path(folder), exist_ok=True)
        if not via_rename:
            return self.write(os.path.join(folder, name), text)
        tmp = self.path(folder, ".part-" + name)
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.path(folder, name))
        return self.path(folder, name)

    def config(self, converters, **top):
        cfg = {"reports_folder": "spool", "workers": 2, "rescan_seconds": 0.5,
               "settle_seconds": 0.2, "machineName": "TEST-STATION",
               "shutdown_grace_seconds": 10}
        cfg.update(top)
        cfg["converters"] = converters
        self.write("station.json", json.dumps(cfg, indent=2))
        return self.path("station.json")

    def start(self, *extra):
        self.log_start = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.log = open(self.log_path, "a")
        self.log.write("=== start %d\n" % self.starts)
        self.log.flush()
        self.starts += 1
        self.proc = subprocess.Popen(
            [self.convbox, "serve", "--config", self.path("station.json")] + list(extra),
            stdout=subprocess.DEVNULL, stderr=self.log)
        return self.proc

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def started(self):
        """Whether this run of the service has set itself up (signals handled from then on)."""
        self.log.flush()
        with open(self.log_path) as f:
            f.seek(self.log_start)
            return " INFO started " in f.read()

    def stop(self, timeout=30):
        """SIGTERM once the service is up; it must exit 0."""
        self.wait_for(self.started, timeout, "the service to start")
        self.signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("convbox serve did not stop within %ss of SIGTERM" % timeout)
        self.log.close()
        check(rc == 0, "convbox serve exited %s after SIGTERM (log %s)" % (rc, self.log_path))

    def kill(self):
        self.signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(30)
        if self.log:
            self.log.close()

    def log_text(self):
        if self.log and not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def events(self, event):
        """Parsed log lines of one event: dicts of key=value."""
        out = []
        for line in self.log_text().splitlines():
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[2] == event:
                out.append(parse_kv(parts[3] if len(parts) > 3 else ""))
        return out

    def wait_for(self, cond, timeout, what):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc and self.proc.poll() is not None:
                fail("convbox serve exited (%s) while waiting for %s; log %s" %
                     (self.proc.returncode, what, self.log_path))
            if cond():
                return
            time.sleep(0.05)
        fail("timed out after %ss waiting for %s; log %s" % (timeout, what, self.log_path))

    def files(self, folder):
        """Visible regular files directly in a folder."""
        d = self.path(folder)
        if not os.path.isdir(d):
            return []
        return sorted(n for n in os.listdir(d)
                      if not n.startswith(".") and os.path.isfile(os.path.join(d, n)))

    def processing(self, folder):
        """Files in a watch folder's processing area."""
        out = []
        base = self.path(folder, ".convbox-processing")
        for dirpath, _, names in os.walk(base):
            out += [os.path.join(dirpath, n) for n in names]
        return out

    def spool(self):
        """{id: parsed report} of every .queued file; fails on a partial one."""
        out = {}
        if not os.path.isdir(self.path("spool")):
            return out
        for n in os.listdir(self.path("spool")):
            if not n.endswith(".queued"):
                continue
            text = open(self.path("spool", n)).read()
            try:
                rep = json.loads(text)
            except ValueError as e:
                fail("spool file %s is not complete JSON (%s): %r" % (n, e, text[:200]))
            check(UUID_RE.match(n[:-7]), "spool name %s is not <uuid>.queued" % n)
            check(rep.get("id", "").lower() == n[:-7], "spool %s carries id %s" % (n, rep.get("id")))
            out[n[:-7]] = rep
        return out

    def leftovers(self):
        """Processes still alive whose stderr is this station's log: what the services this
        test started (and their drivers, runners and jobs) left behind."""
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                target = os.readlink("/proc/%s/fd/2" % entry)
            except OSError:
                continue
            if target.startswith(self.log_path):
                out.append(int(entry))
        return out

    def reap_leftovers(self):
        """Report and kill (by pid) what the stopped or killed services left running."""
        left = self.leftovers()
        if left:
            print("WARNING: %d process(es) outlived the service they belong to: %s" %
                  (len(left), ", ".join("%d (%s)" % (p, comm(p)) for p in left)), flush=True)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return left

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def comm(pid):
    try:
        return open("/proc/%d/comm" % pid).read().strip()
    except OSError:
        return "?"


def parse_kv(s):
    out, i = {}, 0
    while i < len(s):
        while i < len(s) and s[i] == " ":
            i += 1
        eq = s.find("=", i)
        if eq < 0:
            break
        key = s[i:eq]
        i = eq + 1
        if i < len(s) and s[i] == '"':
            j, val = i + 1, []
            while j < len(s) and s[j] != '"':
                if s[j] == "\\" and s[j + 1] == "x":
                    val.append(chr(int(s[j + 2:j + 4], 16)))
                    j += 4
                elif s[j] == "\\":
                    val.append(s[j + 1])
                    j += 2
                else:
                    val.append(s[j])
                    j += 1
            out[key] = "".join(val)
            i = j + 1
        else:
            j = s.find(" ", i)
            j = len(s) if j < 0 else j
            out[key] = s[i:j]
            i = j
    return out


def converter_entry(name, watch, patterns, priority, **extra):
    c = {"name": name, "path": "conv.py", "watch_folder": watch, "file_patterns": patterns,
         "priority": priority, "arguments": {"tag": name}}
    c.update(extra)
    return c


def main(test, name):
    """Run test(station); keep the folder on failure for a look."""
    convbox = sys.argv[1]
    st = Station(convbox, name)
    try:
        test(st)
    except BaseException:
        st.kill()
        time.sleep(0.5)
        st.reap_leftovers()
        print("kept for inspection:", st.root)
        raise
    for _ in range(40):  # parent-death signals take a moment
        if not st.leftovers():
            break
        time.sleep(0.05)
    left = st.reap_leftovers()
    check(not left, "%d process(es) outlived the services of this test" % len(left))
    st.cleanup()
    print("PASS", name)
