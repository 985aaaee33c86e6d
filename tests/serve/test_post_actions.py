"""Post actions and the Error folder: move, delete, zip and keep from the
config, a converter's own post_action winning, Skipped files, reports the
spool refuses (an id that is no UUID), a denied file access, a timeout, station
fields filled in only where the converter left them out, and a graceful
SIGTERM that lets a running conversion finish."""

import json
import os
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def report(st, sn):
    got = [r for r in st.spool().values() if r["sn"] == sn]
    return got[0] if len(got) == 1 else None


def error_info(st, folder, name):
    return json.load(open(st.path(folder, "Error", name + ".error.json")))


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([
        harness.converter_entry("mv", "mv", ["*"], 5),
        harness.converter_entry("del", "del", ["*"], 5, post_action="delete"),
        harness.converter_entry("zip", "zip", ["*"], 5, post_action="zip"),
        harness.converter_entry("keep", "keep", ["*"], 5, post_action="keep"),
        harness.converter_entry("slow", "slow", ["*"], 5,
                                resource_limits={"timeout_seconds": 1}),
    ], location="LAB")
    st.start()
    st.wait_for(lambda: len(st.events("converter_ready")) == 5, 60, "five converters")
    st.drop("mv", "plain.txt", "sn=P-1\n")
    st.drop("mv", "override.txt", "sn=P-2\npost=delete\n")
    st.drop("mv", "skipped.txt", "sn=P-3\nkind=skip\n")
    st.drop("mv", "badid.txt", "sn=P-4\nkind=bad_id\n")
    st.drop("mv", "station.txt", "sn=P-5\nkind=own_station\n")
    st.drop("mv", "peek.txt", "sn=P-6\nkind=peek\n")
    st.drop("mv", "halfbad.txt", "sn=P-7\nkind=two_bad\n")
    st.drop("mv", "sameid.txt", "sn=P-8\nkind=two_same_id\n")
    st.drop("mv", "own1.txt", "sn=OWN-1\nkind=own_id\n")
    st.drop("del", "gone.txt", "sn=D-1\n")
    st.drop("zip", "packed.txt", "sn=Z-1\n")
    st.drop("keep", "kept.txt", "sn=K-1\n")
    st.drop("slow", "hang.txt", "sn=S-1\nsleep=5\n")
    def errors(folder):
        return [n for n in st.files(folder + "/Error") if n.endswith(".error.json")]

    st.wait_for(lambda: len(st.files("mv/Done")) == 4 and len(errors("mv")) == 4 and
                report(st, "P-2") and st.files("zip/Done") and errors("slow") and
                report(st, "K-1") and report(st, "D-1"), 60, "every file handled")
    check(st.files("mv/Done") == ["own1.txt", "plain.txt", "skipped.txt", "station.txt"],
          "mv/Done: %s" % st.files("mv/Done"))
    check(not os.path.exists(st.path("mv/Done/override.txt")) and report(st, "P-2"),
          "the converter's post_action=delete was not followed")
    check(not report(st, "P-3"), "a Skipped file produced a report")
    r = report(st, "P-1")
    check(r["machineName"] == "TEST-STATION" and r["location"] == "LAB" and "purpose" not in r,
          "station fields: %s" % r)
    check(report(st, "P-5")["machineName"] == "FROM-CONVERTER", "the converter's machineName lost")
    # A converter's own id again with a newer report: it replaces the queued one.
    first = report(st, "OWN-1")
    st.drop("mv", "own2.txt", "sn=OWN-1\nkind=own_id\nretest=1\n")
    st.wait_for(lambda: "own2.txt" in st.files("mv/Done"), 30, "own2.txt")
    again = report(st, "OWN-1")
    check(again and again["id"] == first["id"] and again["lines"] == 3 and first["lines"] == 2,
          "the newer report with the same id: %s (first %s)" % (again, first))
    check(any(e.get("replaced_reports") == "1" for e in st.events("converted")),
          "no replaced_reports in the log")
    text = open(st.path("spool", r["id"] + ".queued")).read()
    # Python writes 1.1; a re-serialisation through a C double would write 1.1000000000000001.
    check('"value":1.1}' in text or '"value":1.1,' in text,
          "the converter's bytes were rewritten: %s" % text)

    info = error_info(st, "mv", "badid.txt")
    check("is not a UUID" in info["error"] and info["status"] == "Success", str(info))
    check(not report(st, "P-4"), "a report with a bad id was spooled")
    info = error_info(st, "mv", "halfbad.txt")
    check("report 2:" in info["error"] and "is not a UUID" in info["error"], str(info))
    check(not report(st, "P-7") and not report(st, "P-7-2"),
          "a report of a file that went to Error was spooled")
    info = error_info(st, "mv", "sameid.txt")
    check("reports 1 and 2 share the id" in info["error"], str(info))
    check(not report(st, "P-8") and not report(st, "P-8-2"),
          "a report of two that share an id was spooled")
    info = error_info(st, "mv", "peek.txt")
    check(info["outcome"] == "security" and info["denied"] and
          info["denied"][0]["target"] == "/etc/hostname", "denied access: %s" % info)
    info = error_info(st, "slow", "hang.txt")
    check(info["outcome"] == "timeout", "timeout: %s" % info)
    for key in ("file", "converter", "outcome", "error", "denied", "logs", "started", "finished"):
        check(key in info, "error.json lacks %s" % key)

    check(not st.files("del") and not st.files("del/Done"), "delete left %s" % st.files("del"))
    zips = st.files("zip/Done")
    check(zips == ["packed.txt.zip"], "zip/Done: %s" % zips)
    z = zipfile.ZipFile(st.path("zip/Done", zips[0]))
    check(z.testzip() is None and z.read("packed.txt") == b"sn=Z-1\n", "zip contents")
    # A name too long to name its archive: moved instead, once (it was retried for ever).
    long_name = "Z" * 245 + ".txt"
    st.drop("zip", long_name, "sn=Z-LONG\n")
    st.wait_for(lambda: long_name in st.files("zip/Done"), 30, "the long name moved to Done")
    check(report(st, "Z-LONG"), "the long name's report")
    check([e for e in st.events("zip_unavailable") if e.get("instead") == "move"],
          "no zip_unavailable in the log")
    check(not [e for e in st.events("retry") if e.get("file") == long_name],
          "the long name was retried")

    check(st.files("keep") == ["kept.txt"], "keep: %s" % st.files("keep"))
    time.sleep(1.5)  # several looks at the folder: the kept file is not converted again
    check(len([e for e in st.events("converted") if e["file"] == "kept.txt"]) == 1,
          "a kept file was converted again")
    with open(st.path("keep", "kept.txt"), "a") as f:
        f.write("sn2=changed\n")
    st.wait_for(lambda: len([e for e in st.events("converted") if e["file"] == "kept.txt"]) == 2,
                30, "the changed kept file converted again")

    # SIGTERM while a conversion runs: it finishes, then the service exits 0.
    st.drop("mv", "last.txt", "sn=P-9\nsleep=1\n")
    st.wait_for(lambda: st.processing("mv"), 30, "last.txt being converted")
    st.stop()
    check("last.txt" in st.files("mv/Done") and report(st, "P-9"),
          "the running conversion did not finish before the exit")
    check(st.events("stopped")[0]["left_running"] == "0", "stopped with work running")


if __name__ == "__main__":
    harness.main(test, "post_actions")
