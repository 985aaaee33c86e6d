"""The service killed with SIGKILL at random moments while converting, at
least 20 times, restarted each time: in the end no input is lost, none is in
two places, no report is duplicated, and no spool file is partial.

Each conversion burns a little CPU so that kills land mid-conversion; the
test counts the kills that found files in the processing area and requires
most of them to have done so (otherwise it proved nothing). Some files fail,
some converters set their own report id, some files give two reports; a third
of the files go to a converter whose post action is zip (a commit in two
steps, see src/host/serve.c).
"""

import json
import os
import random
import signal
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

N = 300
KILLS = 24


def make_files():
    rnd = random.Random(20)
    out = []
    for i in range(N):
        kind = rnd.choice(["ok"] * 6 + ["two", "own_id", "fail"])
        body = "sn=CR-%04d\nkind=%s\nspin=0.01\ntoken=%d\n" % (i, kind, rnd.getrandbits(64))
        out.append(("inz" if i % 3 == 0 else "in", "crash_%04d.csv" % i, kind, body))
    return out


def placed(st):
    """File name -> the places it is in (a zip in Done counts as its file)."""
    out = {}
    for folder in ("in", "inz"):
        for sub in ("Done", "Error"):
            for n in st.files(os.path.join(folder, sub)):
                if n.endswith(".error.json"):
                    continue
                name = n[:-4] if folder == "inz" and sub == "Done" else n
                out.setdefault(name, []).append((folder, sub, n))
    return out


def stored(st, where):
    folder, sub, n = where
    if n.endswith(".zip"):
        z = zipfile.ZipFile(st.path(folder, sub, n))
        return z.read(z.namelist()[0]).decode()
    return open(st.path(folder, sub, n)).read()


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([harness.converter_entry("crash", "in", ["*.csv"], 3),
               harness.converter_entry("crashzip", "inz", ["*.csv"], 3, post_action="zip")],
              workers=2, shutdown_grace_seconds=5)
    files = make_files()
    for folder, name, kind, body in files[:N // 2]:
        st.drop(folder, name, body)
    rnd = random.Random(7)
    mid_conversion = 0
    late = files[N // 2:]
    dropped = N // 2
    per_run = len(late) // KILLS + 1
    for k in range(KILLS):
        before = len(placed(st))
        st.start()
        for folder, name, kind, body in late[:per_run]:
            st.drop(folder, name, body, via_rename=rnd.random() < 0.5)
        dropped += len(late[:per_run])
        late = late[per_run:]
        # Wait for the first conversion of this run, then kill at a random moment.
        st.wait_for(lambda: len(placed(st)) > before or len(placed(st)) >= dropped, 60,
                    "progress after restart %d" % k)
        time.sleep(rnd.uniform(0.0, 0.15))
        busy = bool(st.processing("in") or st.processing("inz"))
        os.kill(st.proc.pid, signal.SIGKILL)
        st.proc.wait(30)
        st.log.close()
        mid_conversion += busy
    for folder, name, kind, body in late:
        st.drop(folder, name, body)
    print("kills: %d, of which with files in the processing area: %d" % (KILLS, mid_conversion))
    check(mid_conversion >= KILLS // 2,
          "only %d of %d kills happened mid-conversion" % (mid_conversion, KILLS))

    st.start()
    st.wait_for(lambda: len(placed(st)) >= N, 120, "every file in Done or Error")
    st.stop()

    where = placed(st)
    for folder, name, kind, body in files:
        got = where.get(name, [])
        check(len(got) == 1, "%s is in %s" % (name, got))
        check(got[0][0] == folder and got[0][1] == ("Error" if kind == "fail" else "Done"),
              "%s (%s) in %s" % (name, kind, got))
        check(stored(st, got[0]) == body, "%s altered" % name)
    for folder in ("in", "inz"):
        check(not st.files(folder) and not st.processing(folder),
              "inputs left behind in %s: %s" % (folder, st.files(folder) + st.processing(folder)))
    extra = [n for n in where if n not in {f[1] for f in files}]
    check(not extra, "unexpected files in Done/Error: %s" % extra[:5])

    spool = st.spool()  # every .queued must be complete JSON named by its id
    sns = sorted(r["sn"] for r in spool.values())
    check(len(sns) == len(set(sns)), "duplicated reports: %s" %
          sorted({s for s in sns if sns.count(s) > 1})[:5])
    want = set()
    for folder, name, kind, body in files:
        sn = body.split("\n")[0][3:]
        if kind != "fail":
            want.add(sn)
        if kind == "two":
            want.add(sn + "-2")
    check(set(sns) == want, "missing reports: %s; unexpected: %s" %
          (sorted(want - set(sns))[:5], sorted(set(sns) - want)[:5]))
    leftovers = [n for n in os.listdir(st.path("spool")) if not n.endswith(".queued")]
    check(not leftovers, "temporary files left in the spool: %s" % leftovers[:5])
    recovered = len(st.events("recovered"))
    print("files recovered from the processing area over all restarts: %d" % recovered)
    check(recovered > 0, "no restart found a claimed file to recover")


if __name__ == "__main__":
    harness.main(test, "crash")
