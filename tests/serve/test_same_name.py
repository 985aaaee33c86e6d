"""A same-named file dropped twice ends as two distinct files in Done: once
after the first was converted, and once while the first is still being
converted (its claim is a folder of its own). Identical content dropped again
under the same name keeps a third copy in Done but no second report (the same
derived id); identical content under two other names gives two reports."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def done_bodies(st):
    return sorted(open(st.path("in/Done", n)).read() for n in st.files("in/Done"))


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([harness.converter_entry("same", "in", ["*.txt"], 5)])
    st.start()
    st.wait_for(lambda: st.events("converter_ready"), 60, "the converter")
    first = "sn=SAME-1\n"
    second = "sn=SAME-2\n"
    st.drop("in", "unit.txt", first)
    st.wait_for(lambda: len(st.files("in/Done")) == 1, 30, "the first unit.txt")
    st.drop("in", "unit.txt", second)
    st.wait_for(lambda: len(st.files("in/Done")) == 2, 30, "the second unit.txt")
    check(done_bodies(st) == sorted([first, second]), "Done: %s" % done_bodies(st))

    # While the first is still converting (it sleeps), drop the same name again.
    slow = "sn=SAME-3\nsleep=1.5\n"
    st.drop("in", "unit.txt", slow)
    st.wait_for(lambda: st.processing("in"), 30, "the slow unit.txt being converted")
    fourth = "sn=SAME-4\n"
    st.drop("in", "unit.txt", fourth)
    st.wait_for(lambda: len(st.files("in/Done")) == 4, 30, "both unit.txt in Done")

    # Identical content again: kept in Done, but the report id is the same.
    st.drop("in", "unit.txt", first)
    st.wait_for(lambda: len(st.files("in/Done")) == 5, 30, "the repeated unit.txt")
    st.drop("in", "twin-a.txt", "sn=TWIN\n")
    st.drop("in", "twin-b.txt", "sn=TWIN\n")
    st.wait_for(lambda: len(st.files("in/Done")) == 7, 30, "the twins")
    st.stop()
    check(done_bodies(st) == sorted([first, first, second, slow, fourth, "sn=TWIN\n", "sn=TWIN\n"]),
          "Done: %s" % done_bodies(st))
    check(len(set(st.files("in/Done"))) == 7, "names in Done are not distinct")
    sns = sorted(r["sn"] for r in st.spool().values())
    check(sns == ["SAME-1", "SAME-2", "SAME-3", "SAME-4", "TWIN", "TWIN"], "reports: %s" % sns)
    dup = [e for e in st.events("converted") if e.get("unchanged_reports") == "1"]
    check(len(dup) == 1, "the repeated file's report was not found unchanged in the spool")


if __name__ == "__main__":
    harness.main(test, "same_name")
