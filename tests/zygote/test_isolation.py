"""Jobs forked from one zygote share nothing: module state, builtins,
sys.modules, patched stdlib modules, environment, temp and output files,
and memory all start fresh for every file. Runs through the zygote and
through --cold, and as given by --convbox."""
import argparse
import json
import os
import signal
import pathlib
import select
import subprocess
import sys
import tempfile
import time
import unittest

HERE = pathlib.Path(__file__).resolve().parent
CONVBOX = None


# ctypes allowed (native code), the other default blocked imports kept
NATIVE = {"sandbox": {"native_modules": ["ctypes", "_ctypes"],
                      "blocked_imports": ["subprocess", "os.system", "socket", "multiprocessing"]}}


def run(inputs, *extra):
    out = tempfile.mkdtemp()
    cmd = [CONVBOX, "run", str(HERE / "leaky_converter.py")] + inputs + [
        "--cap", "FILE_TEMP", "--max-procs", "4", "--output-dir", out, "--jobs", "1",
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
        # in the sanitizer build: the runner's own allocations, all freed
        self.assertNotIn("LeakSanitizer", proc.stderr)
        self.assertEqual(len(lines), len(self.inputs))
        pids, seeds = set(), set()
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
            # The environment is the job's own: nothing of the runner's.
            self.assertEqual(found["environ"], ["CONVBOX_OUTPUT_DIR", "HOME", "LANG", "TMPDIR"])
            self.assertEqual(found["tempdir"], "/tmp")
            # Threads work in a job forked from the zygote.
            self.assertEqual(found["thread"], [499500], line["input"])
            pids.add(found["pid"])
            seeds.add(found["random"])
        # Every job draws its own random seed (a copy of the zygote's would repeat).
        self.assertEqual(len(seeds), len(lines), seeds)
        # Each job is init of its own pid namespace.
        self.assertEqual(pids, {1})
        # And every job's own output was collected, each under its own name.
        self.assertEqual(sorted(os.listdir(out)),
                         sorted("out-" + pathlib.Path(p).name for p in self.inputs))

    def test_zygote_jobs_share_nothing(self):
        self.check()

    def test_cold_jobs_share_nothing(self):
        self.check("--cold")


class CodeSharing(unittest.TestCase):
    """Spares hand each other the converter's code object; whatever its size
    or state, every file converts (a large one is compiled by each spare, one
    that does not compile fails in its own job with the error)."""

    def convert(self, source, n=5, *extra):
        with tempfile.TemporaryDirectory() as tmp:
            conv = pathlib.Path(tmp) / "conv.py"
            conv.write_text(source)
            inputs = []
            for i in range(n):
                p = pathlib.Path(tmp) / ("f%d.csv" % i)
                p.write_text("x,%d\n" % i)
                inputs.append(str(p))
            cmd = [CONVBOX, "run", str(conv)] + inputs + ["--skip-validation"] + list(extra)
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            return [json.loads(l) for l in proc.stdout.splitlines()]

    def test_large_code_object(self):
        # About 400 KiB of marshalled constants, more than a socket buffer holds.
        # The first job is slow, so spares forked meanwhile have compiled and
        # are idle when the zygote already has a code object: none may block.
        body = "\n".join("TABLE_%d = %r" % (i, "v" * 4000 + str(i)) for i in range(100))
        source = body + """
import time
class Big:
    def convert_file(self, file_path, args):
        text = file_path.read_text()
        if text == "x,0\\n":
            time.sleep(1)
        return {"status": "Success", "report": {"tables": len(TABLE_99), "in": text}}
"""
        lines = self.convert(source, 5, "--jobs", "1", "--timeout", "20")
        self.assertEqual([l["outcome"] for l in lines], ["completed"] * 5, lines)
        self.assertEqual([l["report"]["in"] for l in lines], ["x,%d\n" % i for i in range(5)])

    def test_syntax_error_is_the_jobs_error(self):
        lines = self.convert("class Broken:\n    def convert_file(self, p, a)\n        pass\n", 3,
                             "--jobs", "2")
        self.assertEqual([l["outcome"] for l in lines], ["converter_error"] * 3, lines)
        self.assertEqual({l["error"]["type"] for l in lines}, {"SyntaxError"})


class MemoryOfOtherJobs(unittest.TestCase):
    """A job with native code reads its whole neighbourhood of memory: it
    finds neither the name of a file the zygote handed to an earlier job, nor
    the exit record the zygote sent for an earlier job."""

    RECORD = '"how":"exited","value":77,"cpu_us":'  # how the victim's exit is reported
    def test_a_job_finds_nothing_of_the_others(self):
        token = os.urandom(8).hex()
        with tempfile.TemporaryDirectory() as tmp:
            config = pathlib.Path(tmp) / "native.json"
            config.write_text(json.dumps(NATIVE))
            # The victim holds a denial for 1.5 s; the first thieves' spares are
            # forked after its own (the first ones) and after the zygote handled
            # its JOB. Its long name puts its JOB frame in a size of its own,
            # which the fillers' frames do not reuse. The last thieves queue
            # behind a slow file: the spares of the last ones are forked after
            # the victim has ended and the zygote has reported its exit.
            roles = [("victim-%s-%s.csv" % (token[::-1], "v" * 80), "victim")] + [
                ("filler-%d.csv" % i, "filler") for i in range(3)] + [
                ("thief-%d.csv" % i, "thief") for i in range(3)] + [
                ("wait.csv", "wait")] + [("thief-%d.csv" % i, "thief") for i in range(3, 8)]
            inputs = []
            for name, role in roles:
                p = pathlib.Path(tmp) / name
                p.write_text(role + "\n")
                inputs.append(str(p))
            cmd = [CONVBOX, "run", str(HERE / "memory_thief.py")] + inputs + [
                "--config", str(config), "--skip-validation", "--arg", "token=" + token,
                "--arg", "linger=1.5", "--arg", "record=" + self.RECORD[::-1],
                "--jobs", "2", "--timeout", "60"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
        lines = [json.loads(l) for l in proc.stdout.splitlines()]
        self.assertEqual(len(lines), len(roles), proc.stderr)
        victim = lines[0]
        thieves = [line for line, (_, role) in zip(lines, roles) if role == "thief"]
        for line in thieves:
            self.assertEqual(line["outcome"], "completed", line)
            report = line["report"]
            self.assertGreater(report["scanned"], 1000, "the thief read too little to tell")
            self.assertEqual(report["name"], [], "an earlier job's file name is in memory")
            self.assertEqual(report["exit_record"], [], "an earlier job's exit record is in memory")
        # the victim's own denial, heard by the host; and its exit, in the zygote's record
        self.assertEqual(victim["outcome"], "security", victim)
        self.assertEqual([d["target"] for d in victim["denied"]], ["ptrace"], victim)


def runner_children(parent):
    """convbox-runner processes whose parent is `parent` (the zygote of that convbox)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = pathlib.Path("/proc/%s/stat" % pid).read_text()
        except OSError:
            continue
        if "(convbox-runner)" in stat and int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.append(int(pid))
    return found


def slow_job(tmp):
    """convbox running one job that sleeps 60 s; its zygote, once the job has started."""
    p = pathlib.Path(tmp) / "slow.csv"
    p.write_text("slow\n")
    cmd = [CONVBOX, "run", str(HERE / "slow_converter.py"), str(p), "--skip-validation",
           "--timeout", "90", "--jobs", "1", "--arg", "sleep=60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        zygotes = runner_children(proc.pid)
        if zygotes and runner_children(zygotes[0]):
            time.sleep(0.5)  # the job has its namespaces and is asleep
            return proc, zygotes[0]
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise AssertionError("no zygote with a job found")


class JobNamespaces(unittest.TestCase):
    """Every process the zygote forks (the job, and its spares) has user, mount,
    pid and uts namespaces of its own, and the zygote's empty network and IPC
    namespaces, never the host's. (The IPC namespace is shared while seccomp
    refuses every IPC call, which a strict run guarantees: see
    DegradedIpc for the run without it.)"""

    def test_every_namespace_is_the_jobs_own(self):
        with tempfile.TemporaryDirectory() as tmp:
            proc, zygote = slow_job(tmp)
            try:
                forked = runner_children(zygote)
                self.assertTrue(forked)
                for pid in forked:
                    try:
                        ns = {k: os.readlink("/proc/%d/ns/%s" % (pid, k))
                              for k in ("user", "mnt", "pid", "ipc", "uts", "net")}
                    except PermissionError:
                        self.skipTest("another user's namespaces cannot be read here")
                    for kind, link in ns.items():
                        self.assertNotEqual(link, os.readlink("/proc/self/ns/" + kind),
                                            "%d: the host's %s namespace" % (pid, kind))
                        zygotes = os.readlink("/proc/%d/ns/%s" % (zygote, kind))
                        if kind in ("net", "ipc"):
                            self.assertEqual(link, zygotes,
                                             "%d: not the zygote's %s namespace" % (pid, kind))
                        else:
                            self.assertNotEqual(link, zygotes,
                                                "%d: the zygote's %s namespace" % (pid, kind))
            finally:
                proc.kill()
                proc.wait()


# Runs a program under a seccomp filter whose listener it holds (allowing
# every call): a second listener is refused (EBUSY), so convbox has no seccomp
# layer of its own, as under a container runtime's supervisor.
SUPERVISED = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
class Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]
allow = (Insn * 1)(Insn(0x06, 0, 0, 0x7fff0000))  # BPF_RET|BPF_K SECCOMP_RET_ALLOW
prog = Prog(1, allow)
if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
    sys.exit("no_new_privs: %d" % ctypes.get_errno())
fd = libc.syscall(317, 1, 8, ctypes.byref(prog))  # seccomp(SET_MODE_FILTER, NEW_LISTENER)
if fd < 0:
    sys.exit("seccomp listener: %d" % ctypes.get_errno())
os.set_inheritable(fd, True)  # the listener lives as long as this descriptor
os.execv(sys.argv[1], sys.argv[1:])
"""


class DegradedIpc(unittest.TestCase):
    """Without seccomp (a degraded run under another supervisor) the IPC
    calls are allowed, so every job gets an IPC namespace of its own: none
    finds the System V objects an earlier job of the same zygote left."""

    def test_each_job_has_its_own_ipc_namespace(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = pathlib.Path(tmp) / "native.json"
            config.write_text(json.dumps(NATIVE))
            inputs = []
            for i in range(4):
                p = pathlib.Path(tmp) / ("f%d.csv" % i)
                p.write_text("x\n")
                inputs.append(str(p))
            cmd = ["/usr/bin/python3.11", "-I", "-c", SUPERVISED, CONVBOX, "run",
                   str(HERE / "ipc_converter.py")] + inputs + [
                "--config", str(config), "--skip-validation", "--allow-degraded",
                "--jobs", "1"]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        lines = [json.loads(l) for l in proc.stdout.splitlines()]
        self.assertEqual(len(lines), len(inputs), proc.stderr)
        for line in lines:
            self.assertEqual(line["outcome"], "completed", line)
            self.assertIn("seccomp", line.get("degraded", []), line)
            # each job could create its objects (no seccomp to refuse them) ...
            self.assertEqual(line["report"]["left"], {"shm": "OK", "msg": "OK"}, line)
            # ... and found none of an earlier job's
            self.assertEqual(line["report"]["found"], {"shm": "ENOENT", "msg": "ENOENT"}, line)


class HostDeath(unittest.TestCase):
    """convbox killed outright (no cleanup of its own): the zygote and every
    job die with it, even a job far inside its timeout, which nothing else
    would ever end."""

    def test_jobs_die_with_the_host(self):
        with tempfile.TemporaryDirectory() as tmp:
            proc, zygote = slow_job(tmp)
            fds = []
            for pid in [zygote] + runner_children(zygote):
                try:
                    fds.append(os.pidfd_open(pid))
                except ProcessLookupError:
                    pass
            try:
                self.assertGreaterEqual(len(fds), 2, "no zygote and job to watch")
                proc.kill()
                proc.wait()
                deadline = time.monotonic() + 5
                alive = fds
                while alive and time.monotonic() < deadline:
                    alive = [fd for fd in fds if not select.select([fd], [], [], 0)[0]]
                    time.sleep(0.05)
                self.assertEqual(len(alive), 0, "processes outlived convbox")
            finally:
                for fd in fds:
                    try:
                        signal.pidfd_send_signal(fd, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    os.close(fd)


def slow_then_quick(tmp):
    """Four inputs for slow_converter.py: the first makes its job sleep, the others do not."""
    inputs = []
    for i, text in enumerate(["slow\n", "x\n", "x\n", "x\n"]):
        p = pathlib.Path(tmp) / ("f%d.csv" % i)
        p.write_text(text)
        inputs.append(str(p))
    return inputs


class ZygoteRestart(unittest.TestCase):
    """A zygote that dies is replaced: the job in flight is a sandbox_error, the rest convert."""

    def test_killed_zygote_is_restarted(self):
        with tempfile.TemporaryDirectory() as tmp:
            inputs = slow_then_quick(tmp)
            cmd = [CONVBOX, "run", str(HERE / "slow_converter.py")] + inputs + [
                "--jobs", "1", "--skip-validation", "--timeout", "60"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            zygotes = []
            for _ in range(100):  # wait for the zygote to start the slow job
                zygotes = runner_children(proc.pid)
                if zygotes:
                    time.sleep(1.0)
                    break
                time.sleep(0.05)
            self.assertEqual(len(zygotes), 1, "no zygote found")
            os.kill(zygotes[0], signal.SIGKILL)  # our own child's child, by pid
            out, err = proc.communicate(timeout=120)
        lines = [json.loads(l) for l in out.splitlines()]
        self.assertEqual([l["outcome"] for l in lines],
                         ["sandbox_error", "completed", "completed", "completed"], err)
        self.assertIn("runner", lines[0]["error"])
        self.assertEqual(proc.returncode, 6)


class DirectHandOff(unittest.TestCase):
    """The host hands each conversion straight to a ready spare: a zygote that
    cannot run (stopped here) holds up no job while it has spares ready."""

    def test_stopped_zygote_holds_up_no_ready_spare(self):
        with tempfile.TemporaryDirectory() as tmp:
            inputs = slow_then_quick(tmp)
            # --jobs 1: two spares ready; the first job sleeps 3 s
            cmd = [CONVBOX, "run", str(HERE / "slow_converter.py")] + inputs + [
                "--jobs", "1", "--skip-validation", "--timeout", "60", "--arg", "sleep=3"]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            zygote = None
            try:
                for _ in range(100):
                    found = runner_children(proc.pid)
                    if found and len(runner_children(found[0])) >= 3:  # the job and 2 spares
                        zygote = found[0]
                        break
                    time.sleep(0.05)
                self.assertIsNotNone(zygote, "no zygote with its job and spares found")
                time.sleep(1.0)  # the spares are offered to the host and ready
                os.kill(zygote, signal.SIGSTOP)
                got = b""
                deadline = time.monotonic() + 30
                while got.count(b"\n") < 3 and time.monotonic() < deadline:
                    ready, _, _ = select.select([proc.stdout], [], [], 1.0)
                    if ready:
                        got += os.read(proc.stdout.fileno(), 65536)
                lines = [json.loads(l) for l in got.splitlines()]
                # the slow job, and the two the spares took while the zygote was stopped
                self.assertEqual([l["outcome"] for l in lines], ["completed"] * 3, lines)
                self.assertEqual(proc.poll(), None, "the fourth input needs the zygote")
                os.kill(zygote, signal.SIGCONT)
                out, err = proc.communicate(timeout=60)
            finally:
                if zygote and proc.poll() is None:
                    os.kill(zygote, signal.SIGCONT)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            lines += [json.loads(l) for l in out.splitlines()]
            self.assertEqual([l["outcome"] for l in lines], ["completed"] * 4, err.decode())
            self.assertEqual(proc.returncode, 0, err.decode())


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--convbox", required=True)
    args, rest = ap.parse_known_args()
    CONVBOX = args.convbox
    unittest.main(argv=[sys.argv[0]] + rest)
