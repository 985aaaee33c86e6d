"""1,000 files over three converters with mixed priorities, some failing, some
suspended: every file ends in Done or Error (never both, never twice), exactly
one spooled report per successful conversion, nothing left behind.

Converters A (priority 1, *.a) and B (priority 5, *.b) share one watch folder;
C (priority 9, *.c) has its own. A third of the files are there before the
service starts (start-up scan), the rest arrive while it runs, half written in
place (IN_CLOSE_WRITE), half renamed in (IN_MOVED_TO).
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check

N = 1000
KINDS = ["ok"] * 70 + ["two"] * 5 + ["fail"] * 8 + ["raise"] * 4 + ["suspend"] * 8 + \
        ["skip"] * 5


def make_files():
    rnd = random.Random(6)
    files = []
    for i in range(N):
        ext = "abc"[i % 3]
        kind = rnd.choice(KINDS)
        name = "unit_%04d.%s" % (i, ext.upper() if i % 10 == 0 else ext)
        folder = "in2" if ext == "c" else "in1"
        body = "sn=SN-%04d\nkind=%s\nretry=0.05\ntoken=%d\n" % (i, kind, rnd.getrandbits(64))
        files.append((folder, name, kind, body))
    return files


def final_places(st):
    places = {}
    for folder in ("in1", "in2"):
        for sub in ("Done", "Error"):
            for n in st.files(os.path.join(folder, sub)):
                if n.endswith(".error.json"):
                    continue
                places.setdefault(n, []).append(os.path.join(folder, sub))
    return places


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([
        harness.converter_entry("A", "in1", ["*.a"], 1),
        harness.converter_entry("B", "in1", ["*.b"], 5),
        harness.converter_entry("C", "in2", ["*.c"], 9),
    ], workers=2, max_suspend_retries=2)
    files = make_files()
    early, late = files[: N // 3], files[N // 3:]
    for folder, name, kind, body in early:
        st.drop(folder, name, body)
    st.start()
    for i, (folder, name, kind, body) in enumerate(late):
        st.drop(folder, name, body, via_rename=i % 2 == 1)

    def settled():
        return len(final_places(st)) >= N

    st.wait_for(settled, 240, "all %d files in Done or Error" % N)
    st.stop()

    places = final_places(st)
    for folder, name, kind, body in files:
        where = places.get(name, [])
        check(len(where) == 1, "%s is in %s (expected exactly one place)" % (name, where))
        good = kind in ("ok", "two", "skip")
        check(where[0].endswith("Done" if good else "Error"),
              "%s (%s) ended in %s" % (name, kind, where[0]))
        text = open(st.path(where[0], name)).read()
        check(text == body, "%s changed on its way to %s" % (name, where[0]))
        if not good:
            info = json.load(open(st.path(where[0], name + ".error.json")))
            check(info["file"] == name and info["converter"] in "ABC", "error.json of " + name)
            if kind == "suspend":
                check(info["status"] == "Suspended" and info["suspends"] == 3,
                      "%s: suspended 3 times then Error, got %s" % (name, info))
            elif kind == "fail":
                check(info["status"] == "Failed" and "kind=fail" in info["error"], str(info))
            else:
                check(info["outcome"] == "converter_error" and "kind=raise" in info["error"],
                      str(info))
    leftovers = st.files("in1") + st.files("in2") + st.processing("in1") + st.processing("in2")
    check(not leftovers, "left in the watch folders: %s" % leftovers[:5])

    spool = st.spool()
    expect = {}
    for folder, name, kind, body in files:
        sn = body.split("\n")[0][3:]
        if kind in ("ok", "two"):
            expect[sn] = name
        if kind == "two":
            expect[sn + "-2"] = name
    got = sorted(r["sn"] for r in spool.values())
    check(len(got) == len(set(got)), "a report was spooled twice")
    check(set(got) == set(expect), "spooled %d reports, expected %d; missing %s, extra %s" %
          (len(got), len(expect), sorted(set(expect) - set(got))[:5],
           sorted(set(got) - set(expect))[:5]))
    for rid, r in spool.items():
        ext = expect[r["sn"]].rsplit(".", 1)[1].lower()
        check(r["converter"] == {"a": "A", "b": "B", "c": "C"}[ext],
              "%s converted by %s" % (expect[r["sn"]], r["converter"]))
        check(r["machineName"] == "TEST-STATION", "machineName not filled in: %s" % r)
    converted = st.events("converted")
    check(len(converted) == sum(1 for f in files if f[2] in ("ok", "two")),
          "%d 'converted' log lines" % len(converted))
    check(all(e.get("converter") and e.get("file") for e in converted), "log lines name both")


if __name__ == "__main__":
    harness.main(test, "bulk")
