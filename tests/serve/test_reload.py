"""A converter file changed on disk is re-validated and reloaded: version 1
converts, version 2 (written in place) converts the next file; a version that
fails validation disables the converter (its files wait in the watch folder,
the other converter goes on), and fixing the file brings it back. SIGHUP
reloads the configuration (a new machineName reaches the next report); a
broken configuration on SIGHUP is refused and the service keeps running."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

REJECTED = "import subprocess\n" + harness.converter_source(3)


def report_of(st, sn):
    for r in st.spool().values():
        if r["sn"] == sn:
            return r
    return None


def convert(st, folder, name, sn, timeout=30):
    st.drop(folder, name, "sn=%s\n" % sn)
    st.wait_for(lambda: report_of(st, sn), timeout, "the report of " + name)
    return report_of(st, sn)


def test(st):
    st.write("conv.py", harness.converter_source(1))
    st.write("other.py", harness.converter_source(7))
    other = harness.converter_entry("other", "in2", ["*"], 5)
    other["path"] = "other.py"
    st.config([harness.converter_entry("changing", "in", ["*.txt"], 5), other])
    st.start()
    check(convert(st, "in", "a.txt", "R-1")["version"] == 1, "version 1 did not convert")

    st.write("conv.py", harness.converter_source(2))  # in place, same inode
    st.wait_for(lambda: len(st.events("converter_ready")) >= 3, 30, "the reloaded converter")
    check(st.events("converter_changed"), "no converter_changed event")
    check(convert(st, "in", "b.txt", "R-2")["version"] == 2, "version 2 was not loaded")

    tmp = st.write("conv.py.new", REJECTED)  # replaced by rename, new inode
    os.rename(tmp, st.path("conv.py"))
    st.wait_for(lambda: st.events("converter_disabled"), 30, "the rejected version disabled")
    why = st.events("converter_disabled")[0]
    check("validation failed" in why.get("error", "") and "subprocess" in why["error"],
          "disabled for another reason: %s" % why)
    st.drop("in", "c.txt", "sn=R-3\n")
    check(convert(st, "in2", "x.bin", "R-OTHER")["version"] == 7, "the other converter stopped")
    time.sleep(1.0)
    check(st.files("in") == ["c.txt"] and not report_of(st, "R-3"),
          "a file was converted by the rejected converter")

    st.write("conv.py", harness.converter_source(4))
    st.wait_for(lambda: report_of(st, "R-3"), 30, "c.txt converted once the file is fixed")
    check(report_of(st, "R-3")["version"] == 4, "c.txt converted by %s" % report_of(st, "R-3"))

    cfg = json.load(open(st.path("station.json")))
    cfg["machineName"] = "RELOADED"
    st.write("station.json", json.dumps(cfg))
    st.signal(signal.SIGHUP)
    st.wait_for(lambda: st.events("reload"), 30, "the reload")
    st.wait_for(lambda: st.events("reloaded"), 30, "the service started again")
    check(convert(st, "in", "d.txt", "R-4")["machineName"] == "RELOADED",
          "the new machineName was not used")

    st.write("station.json", "{\"reports_folder\": \"spool\", \"converters\": 5}")
    st.signal(signal.SIGHUP)
    st.wait_for(lambda: st.events("reload_failed"), 30, "the broken config refused")
    check("converters: expected a non-empty array" in st.events("reload_failed")[0].get("error", ""),
          "reload error: %s" % st.events("reload_failed")[0])
    check(convert(st, "in", "e.txt", "R-5")["version"] == 4, "service did not go on")
    st.stop()
    check(sorted(st.files("in/Done")) == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"],
          "Done holds %s" % st.files("in/Done"))


if __name__ == "__main__":
    harness.main(test, "reload")
