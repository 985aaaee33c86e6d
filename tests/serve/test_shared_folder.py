"""A watch folder that other users may write into (sticky, as the docs
advise) cannot be used to steer the service:

- Done made beforehand by another user as a symbolic link: the service does
  not start, and says which folder and why; nothing goes where it points.
- A processing area made beforehand by another user: nothing is claimed, the
  files stay where they were dropped, and the log says why.
- A watch folder of another user (sticky) is used; its Done and Error are the
  service's own.
- A name swapped between a regular file and a symbolic link to a file only
  root may read, over and over while the service claims: no link is ever
  claimed (none lands in the processing area, Done or Error), so the
  converter never reads what it points at.

Acting as another user needs root (lchown/chown); as anyone else the test is
skipped (exit 77)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

OTHER = 1234  # another user, who may write the shared watch folder


def station(st, name):
    other = harness.Station(st.convbox, name)
    other.write("conv.py", harness.converter_source())
    other.config([harness.converter_entry("shared", "in", ["*.txt"], 5)])
    os.makedirs(other.path("in"))
    os.chmod(other.path("in"), 0o1777)
    return other


def done_link_of_another_user(st):
    s = station(st, "shared-done")
    os.makedirs(s.path("elsewhere"))
    os.symlink(s.path("elsewhere"), s.path("in", "Done"))
    os.lchown(s.path("in", "Done"), OTHER, OTHER)
    s.drop("in", "a.txt", "sn=A\n")
    s.start()
    try:
        rc = s.proc.wait(15)
    except harness.subprocess.TimeoutExpired:
        s.kill()
        rc = "none: it ran"
    s.log.close()
    check(rc == 1, "the service started (exit %s) with Done a link of another user" % rc)
    check("is a symbolic link of uid %d" % OTHER in s.log_text(), "no reason given")
    check(os.listdir(s.path("elsewhere")) == [], "files went where the link points")
    s.cleanup()


def processing_area_of_another_user(st):
    s = station(st, "shared-proc")
    os.makedirs(s.path("in", ".convbox-processing"))
    os.chmod(s.path("in", ".convbox-processing"), 0o777)
    os.chown(s.path("in", ".convbox-processing"), OTHER, OTHER)
    s.drop("in", "a.txt", "sn=A\n")
    s.start()
    s.wait_for(lambda: [e for e in s.events("not_claimed")
                        if "not the service's own" in e.get("why", "")], 30, "the refusal")
    s.stop()
    check(s.files("in") == ["a.txt"], "the dropped file moved: %s" % s.files("in"))
    check(not s.spool(), "a report was written")
    s.cleanup()


def swapped_for_a_link(st):
    secret = st.write("root-only/secret", "sn=ROOT-ONLY-SECRET\n")
    os.chmod(secret, 0o600)
    st.write("conv.py", harness.converter_source())
    st.config([harness.converter_entry("shared", "in", ["*.txt"], 5)],
              rescan_seconds=0.05, settle_seconds=0.01)
    os.makedirs(st.path("in"))
    os.chmod(st.path("in"), 0o1777)
    os.chown(st.path("in"), OTHER, OTHER)  # the station user's folder, as it may well be
    st.start()
    st.wait_for(lambda: st.events("converter_ready"), 60, "the converter")
    stop = time.time() + 3
    swaps = [0]

    def swap():
        d = st.path("in")
        while time.time() < stop:
            swaps[0] += 1
            with open(os.path.join(d, ".r"), "w") as f:
                f.write("sn=ATTACKER-%d\n" % swaps[0])
            os.rename(os.path.join(d, ".r"), os.path.join(d, "x.txt"))
            if os.path.lexists(os.path.join(d, ".l")):
                os.unlink(os.path.join(d, ".l"))
            os.symlink(secret, os.path.join(d, ".l"))
            os.rename(os.path.join(d, ".l"), os.path.join(d, "x.txt"))

    t = threading.Thread(target=swap)
    t.start()
    t.join()
    time.sleep(1.5)
    st.stop()
    sns = [r.get("sn") for r in st.spool().values()]
    check(sns, "nothing was converted: the swapping proved nothing")
    check("ROOT-ONLY-SECRET" not in sns, "a link was converted: its target was read")
    claimed_links = [p for p in st.processing("in") if os.path.islink(p)]
    check(not claimed_links, "links were claimed: %s" % claimed_links[:3])
    for folder in ("in/Done", "in/Error"):
        d = st.path(folder)
        links = [n for n in os.listdir(d) if os.path.islink(os.path.join(d, n))] \
            if os.path.isdir(d) else []
        check(not links, "links in %s: %s" % (folder, links))
        for n in (os.listdir(d) if os.path.isdir(d) else []):
            with open(os.path.join(d, n), errors="replace") as f:
                check("ROOT-ONLY-SECRET" not in f.read(), "%s/%s holds the secret" % (folder, n))
    print("swaps: %d, converted: %d" % (swaps[0], len(sns)))


def test(st):
    if os.geteuid() != 0:
        print("SKIP: acting as another user needs root")
        sys.exit(77)
    phases = os.environ.get("CVB_PHASES", "done,proc,swap").split(",")
    if "done" in phases:
        done_link_of_another_user(st)
    if "proc" in phases:
        processing_area_of_another_user(st)
    if "swap" in phases:
        swapped_for_a_link(st)


if __name__ == "__main__":
    harness.main(test, "shared_folder")
