"""What a crash leaves behind is repaired at the next start: a claimed input is
converted; a zip built beside its input (the crash came before the commit) is
thrown away and the input converted again; a zip alone (the crash came after)
is moved into Done without converting anything; empty claims and stale
temporary files are removed; a claimed file no converter takes goes back to
its watch folder. A SIGTERM with no grace leaves the running file claimed, for
the next start to convert; a converter's driver killed mid-conversion is
restarted and the file converted once."""

import os
import signal
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def children(pid):
    """Processes whose parent is pid (the service's drivers)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open("/proc/%s/stat" % entry).read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def claim(st, cid, name, body):
    return st.write(os.path.join("in", ".convbox-processing", cid, name), body)


def write_zip(path, name, body):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name, body)


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([harness.converter_entry("z", "in", ["*.txt"], 5, post_action="zip")],
              shutdown_grace_seconds=0)
    claim(st, "c1", "a.txt", "sn=REC-A\n")
    claim(st, "c2", "b.txt", "sn=REC-B\n")
    claim(st, "c2", ".convbox-tmp-7-8-9", "half a zip")
    write_zip(st.path("in/.convbox-processing/c2/.convbox-zip-b.txt.zip"), "b.txt", "old")
    os.makedirs(st.path("in/.convbox-processing/c3"))
    write_zip(st.path("in/.convbox-processing/c3/.convbox-zip-c.txt.zip"), "c.txt", "sn=REC-C\n")
    os.makedirs(st.path("in/.convbox-processing/c4"))
    claim(st, "c5", "other.dat", "not ours\n")
    st.write("spool/.convbox-tmp-1-2-3", "{\"partial\": ")
    st.write("in/Done/.convbox-tmp-4-5-6", "partial zip")
    st.start()
    st.wait_for(lambda: len(st.files("in/Done")) == 3, 60, "three zips in Done")
    check(sorted(st.files("in/Done")) == ["a.txt.zip", "b.txt.zip", "c.txt.zip"],
          "Done: %s" % st.files("in/Done"))
    for name, body in (("a.txt", "sn=REC-A\n"), ("b.txt", "sn=REC-B\n"), ("c.txt", "sn=REC-C\n")):
        z = zipfile.ZipFile(st.path("in/Done", name + ".zip"))
        check(z.read(name).decode() == body, "%s.zip holds %r" % (name, z.read(name)))
    sns = sorted(r["sn"] for r in st.spool().values())
    check(sns == ["REC-A", "REC-B"], "reports: %s (the lone zip must not convert)" % sns)
    check(st.files("in") == ["other.dat"], "watch folder: %s" % st.files("in"))
    check(not os.listdir(st.path("in/.convbox-processing")), "claims left: %s" %
          os.listdir(st.path("in/.convbox-processing")))
    check(not os.path.exists(st.path("spool/.convbox-tmp-1-2-3")), "stale spool temp kept")
    check(not os.path.exists(st.path("in/Done/.convbox-tmp-4-5-6")), "stale Done temp kept")

    st.drop("in", "slow.txt", "sn=REC-SLOW\nsleep=3\n")
    st.wait_for(lambda: st.processing("in"), 30, "slow.txt being converted")
    t0 = time.time()
    st.stop()
    check(time.time() - t0 < 2.5, "shutdown_grace_seconds 0 still waited for the conversion")
    check([os.path.basename(p) for p in st.processing("in")] == ["slow.txt"],
          "slow.txt is not waiting in the processing area: %s" % st.processing("in"))
    st.start()
    st.wait_for(lambda: "slow.txt.zip" in st.files("in/Done"), 60, "slow.txt after restart")

    # The converter's driver (a child of the service) killed mid-conversion: the file is
    # queued again, the driver restarted, the file converted once.
    st.drop("in", "victim.txt", "sn=REC-VICTIM\nsleep=1\n")
    st.wait_for(lambda: st.processing("in"), 30, "victim.txt being converted")
    drivers = children(st.proc.pid)
    check(len(drivers) == 1, "expected one driver process, found %s" % drivers)
    os.kill(drivers[0], signal.SIGKILL)
    st.wait_for(lambda: "victim.txt.zip" in st.files("in/Done"), 60, "victim.txt after the loss")
    check(st.events("driver_lost"), "no driver_lost event")
    check([r["sn"] for r in st.spool().values()].count("REC-VICTIM") == 1, "victim report")

    # A claimed file someone removes while it converts: given up once, not retried for ever.
    st.drop("in", "removed.txt", "sn=REC-REMOVED\nsleep=1\n")
    st.wait_for(lambda: st.processing("in"), 30, "removed.txt being converted")
    for p in st.processing("in"):
        os.unlink(p)
    st.wait_for(lambda: st.events("vanished"), 30, "the vanished file given up")
    check(not [e for e in st.events("retry") if e.get("file") == "removed.txt"],
          "the removed file was queued to retry")
    st.stop()
    check(len(st.events("recovered")) == 5, "recoveries logged: %d" % len(st.events("recovered")))
    check(not st.processing("in"), "claims left: %s" % st.processing("in"))


if __name__ == "__main__":
    harness.main(test, "recovery")
