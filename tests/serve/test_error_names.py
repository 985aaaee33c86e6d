"""What the service writes into Error never takes a file's place, and every
failed file gets its explanation: an input called b.error.json stays when a
failed b is explained beside it, and a name so long that `.error.json` would
not fit still gets an explanation (under a shortened name, cut between
characters, not inside one). File names that
are not UTF-8 convert (or fail) like any other, and the files after them too
(such a name once made the converter's runner look dead)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def explanations(st):
    """The explanations in Error, by the file each one explains."""
    found = {}
    for n in st.files("in/Error"):
        try:
            with open(st.path("in/Error", n)) as f:
                doc = json.load(f)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and "outcome" in doc and "file" in doc:
            found[doc["file"]] = n
    return found


def test(st):
    st.write("conv.py", harness.converter_source())
    st.config([harness.converter_entry("names", "in", ["*"], 5)])
    st.start()
    st.wait_for(lambda: st.events("converter_ready"), 60, "the converter")
    # an input that fails and is called b.error.json, then one called b
    st.drop("in", "b.error.json", "kind=fail\nsn=INPUT\n")
    st.wait_for(lambda: "b.error.json" in explanations(st), 30, "b.error.json explained")
    st.drop("in", "b", "kind=fail\nsn=B\n")
    st.wait_for(lambda: "b" in explanations(st), 30, "b explained")
    with open(st.path("in/Error", "b.error.json")) as f:
        kept = f.read()
    check(kept == "kind=fail\nsn=INPUT\n", "the input b.error.json was replaced: %r" % kept)
    check(explanations(st)["b"] != "b.error.json", "b's explanation took the input's name")
    check(explanations(st)["b"].endswith(".error.json"), "b's explanation is called %s" %
          explanations(st)["b"])

    long_name = "L" * 250 + ".txt"
    st.drop("in", long_name, "kind=fail\nsn=LONG\n")
    st.wait_for(lambda: long_name in st.files("in/Error"), 30, "the long name in Error")
    st.wait_for(lambda: long_name in explanations(st), 10, "the long name explained")

    # a long name of two-byte characters, twice: the second file is renamed in Error, and
    # both explanations are shortened; no name is cut inside a character
    accented = "\u00e9" * 125 + ".txt"

    def accented_in_error():
        return [n for n in os.listdir(os.fsencode(st.path("in/Error"))) if n.startswith(b"\xc3")]

    for n, sn in enumerate(("ACCENT-1", "ACCENT-2")):
        st.drop("in", accented, "kind=fail\nsn=%s\n" % sn)
        st.wait_for(lambda: len(accented_in_error()) == 2 * (n + 1), 30,
                    "%s and its explanation in Error" % sn)
    for n in accented_in_error():
        try:
            n.decode("utf-8")
        except UnicodeDecodeError:
            check(False, "a name in Error was cut inside a character: %r" % n)

    raw_in = os.fsencode(st.path("in"))
    for name, text in ((b"good\xff.txt", b"sn=NOT-UTF8\n"), (b"bad\xfe.txt", b"kind=fail\n"),
                       (b"after.txt", b"sn=AFTER\n")):
        with open(os.path.join(raw_in, name), "wb") as f:
            f.write(text)
    st.wait_for(lambda: len(os.listdir(os.fsencode(st.path("in/Done")))) == 2, 30,
                "the good file and the one after it in Done")
    st.wait_for(lambda: "bad\ufffd.txt" in explanations(st), 30, "the bad name explained")
    st.stop()
    check(sorted(os.listdir(os.fsencode(st.path("in/Done")))) == [b"after.txt", b"good\xff.txt"],
          "Done: %s" % os.listdir(os.fsencode(st.path("in/Done"))))
    sns = sorted(r["sn"] for r in st.spool().values())
    check(sns == ["AFTER", "NOT-UTF8"], "reports: %s" % sns)
    check(not st.events("error_json_failed"), "an explanation could not be written")
    names = sorted(os.listdir(os.fsencode(st.path("in/Error"))))
    check(len(names) == 12, "Error holds: %s" % names)


if __name__ == "__main__":
    harness.main(test, "error_names")
