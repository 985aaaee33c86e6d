"""Priority first: with one worker and a backlog of priority-8 files being
converted, a priority-1 file dropped later is the next one converted (at most
the conversion already running, and one dispatched in the same instant,
finish before it)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([harness.converter_entry("bulk", "in8", ["*"], 8),
               harness.converter_entry("urgent", "in1", ["*"], 1)], workers=1)
    for i in range(40):
        st.drop("in8", "bulk_%02d.txt" % i, "sn=B-%02d\nsleep=0.1\n" % i)
    st.start()
    st.wait_for(lambda: len(st.files("in8/Done")) >= 3, 60, "the backlog to start")
    done_before = len(st.files("in8/Done"))
    st.drop("in1", "urgent.txt", "sn=URGENT\n")
    st.wait_for(lambda: st.files("in1/Done"), 30, "the urgent file")
    left = len(st.files("in8"))
    st.stop()
    order = [e["file"] for e in st.events("converted")]
    pos = order.index("urgent.txt")
    print("bulk converted before the drop: %d; urgent converted at position %d; "
          "%d bulk files still waiting then" % (done_before, pos, left))
    check(pos <= done_before + 2, "urgent.txt waited behind %d priority-8 files" %
          (pos - done_before))
    check(left >= 20, "the backlog was nearly gone: the test proved nothing")
    # Within one priority: oldest first (the files' modification times).
    bulk = [f for f in order if f.startswith("bulk_")]
    check(bulk == sorted(bulk), "priority-8 files not converted oldest first: %s" % bulk[:10])


if __name__ == "__main__":
    harness.main(test, "priority")
