"""A file written in pieces over 3 s (one open, a flush and fsync after each
piece, pauses longer than the settle time) is converted once, complete.

The folder is looked at every 0.3 s and two looks 0.1 s apart that agree
count as complete, so the looks do find the file unchanged during the pauses:
only the lease check (nobody may have it open for writing) keeps it from
being claimed half written. The log must show that check holding it back.
"""

import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

PIECES = 10


def leases_enabled():
    try:
        return open("/proc/sys/fs/leases-enable").read().strip() == "1"
    except OSError:
        return False


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([harness.converter_entry("slow", "in", ["*.log"], 5)], rescan_seconds=0.3,
              settle_seconds=0.1)
    st.start("--log-level", "debug")
    st.wait_for(lambda: st.events("converter_ready"), 60, "the converter")
    body = ""
    path = st.path("in", "slow.log")
    with open(path, "w") as f:
        for i in range(PIECES):
            piece = "line=%d %s\n" % (i, "x" * 50)
            if i == 0:
                piece = "sn=SLOW-1\n"
            f.write(piece)
            f.flush()
            os.fsync(f.fileno())
            body += piece
            time.sleep(3.0 / PIECES)
    st.wait_for(lambda: st.files("in/Done"), 30, "slow.log in Done")
    time.sleep(1.0)  # time for a second, wrong conversion to show up
    st.stop()
    check(st.files("in/Done") == ["slow.log"], "Done holds %s" % st.files("in/Done"))
    check(not st.files("in/Error"), "Error holds %s" % st.files("in/Error"))
    check(open(st.path("in/Done/slow.log")).read() == body, "the file in Done is not complete")
    reports = list(st.spool().values())
    check(len(reports) == 1, "%d reports for one file" % len(reports))
    check(reports[0]["lines"] == PIECES, "converted with %s of %d lines" %
          (reports[0]["lines"], PIECES))
    check(reports[0]["sha256"] == hashlib.sha256(body.encode()).hexdigest(),
          "converted content differs from the complete file")
    check(len(st.events("converted")) == 1, "converted more than once")
    held = [e for e in st.events("not_claimed") if e.get("why") == "still open for writing"]
    print("claims refused while the writer had the file open: %d" % len(held))
    if leases_enabled():
        check(held, "the looks never found the file unchanged during a pause, so the "
                    "lease check was not exercised")


if __name__ == "__main__":
    harness.main(test, "slow_writer")
