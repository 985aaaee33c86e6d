"""`convbox serve --check-config` names the key path of every error (and the
service refuses to start on the same file with the same message); the bundled
example is valid."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402


def base():
    return {"reports_folder": "spool", "converters": [
        {"name": "a", "path": "a.py", "watch_folder": "in_a"},
        {"name": "b", "path": "a.py", "watch_folder": "in_b"},
        {"name": "c", "path": "a.py", "watch_folder": "in_c"}]}


def edit(fn):
    cfg = base()
    fn(cfg)
    return cfg


CASES = [
    (edit(lambda c: c["converters"][2].update(priority=11)),
     "converters[2].priority: expected an integer 1..10"),
    (edit(lambda c: c["converters"][1].update(priority="first")),
     "converters[1].priority: expected an integer 1..10"),
    (edit(lambda c: c.update(workers=0)), "workers: expected an integer 1..64"),
    (edit(lambda c: c.pop("reports_folder")), "reports_folder: required"),
    (edit(lambda c: c["converters"][0].pop("watch_folder")), "converters[0].watch_folder: required"),
    (edit(lambda c: c["converters"][1].update(post_action="shred")),
     "converters[1].post_action: expected one of move, delete, zip, keep"),
    (edit(lambda c: c["converters"][2].update(file_patterns=["*.csv", ""])),
     "converters[2].file_patterns[1]: expected a glob pattern"),
    (edit(lambda c: c["converters"][0].update(capabilities=["READ_INPUT", "TELEPORT"])),
     "converters[0].capabilities[1]: unknown capability"),
    (edit(lambda c: c["converters"][1].update(resource_limits={"memory_mb": "lots"})),
     "converters[1].resource_limits.memory_mb: expected an integer"),
    (edit(lambda c: c.update(sandbox={"resource_limits": {"timeout_seconds": 0}})),
     "sandbox.resource_limits.timeout_seconds: expected a number"),
    (edit(lambda c: c.update(sandbox={"strict": "very"})), "sandbox.strict: expected true or false"),
    (edit(lambda c: c["converters"][2].update(blocked_imports="os")),
     "converters[2].blocked_imports: expected an array"),
    (edit(lambda c: c["converters"][0].update(trusted_mode=1)),
     "converters[0].trusted_mode: expected true or false"),
    (edit(lambda c: c["converters"][0].update(arguments="pn=1")),
     "converters[0].arguments: expected an object"),
    (edit(lambda c: c["converters"][1].update(name="a")),
     "converters[1].name: 'a' is already the name of converters[0]"),
    (edit(lambda c: c["converters"][2].update(done_folder="in_a")),
     "converters[2].done_folder: is the watch_folder of converters[0]"),
    (edit(lambda c: c["converters"][0].update(colour="red")), "converters[0].colour: unknown key"),
    (edit(lambda c: c.update(colour="red")), "colour: unknown key"),
    (edit(lambda c: c["converters"][1].update(path="missing.py")),
     "converters[1].path: cannot read"),
]


def run(convbox, *args):
    p = subprocess.run([convbox, "serve"] + list(args), capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def test(st):
    st.write("a.py", harness.converter_source())
    cfg_path = st.path("station.json")
    for i, (cfg, expect) in enumerate(CASES):
        st.write("station.json", json.dumps(cfg))
        rc, out, err = run(st.convbox, "--check-config", "--config", cfg_path)
        check(rc == 2, "case %d: exit %d, expected 2 (%s)" % (i, rc, err))
        check(expect in err, "case %d: stderr %r lacks %r" % (i, err, expect))
        check(cfg_path in err, "case %d: stderr %r does not name the file" % (i, err))
        if i < 3:  # the service refuses the same file with the same words
            rc, out, err = run(st.convbox, "--config", cfg_path)
            check(rc == 2 and expect in err, "serve started on a broken config: %r" % err)
    st.write("station.json", '{\n  "reports_folder": "spool",\n  "converters": [}\n')
    rc, out, err = run(st.convbox, "--check-config", "--config", cfg_path)
    check(rc == 2 and cfg_path + ":3:" in err, "syntax error not located: %r" % err)
    rc, out, err = run(st.convbox, "--check-config")
    check(rc == 2 and "--config" in err, "missing --config: %d %r" % (rc, err))
    rc, out, err = run(st.convbox, "--check-config", "--config", cfg_path, "--bogus")
    check(rc == 2 and "--bogus" in err, "unknown option: %d %r" % (rc, err))
    st.write("station.json", json.dumps(base()))
    rc, out, err = run(st.convbox, "--check-config", "--config", cfg_path)
    check(rc == 0 and "valid" in out and "3 converters" in out, "valid config: %r %r" % (out, err))
    check(not os.path.exists(st.path("in_a")), "--check-config created folders")
    example = os.path.join(os.environ.get("CVB_SOURCE_DIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..")), "examples/serve/station.json")
    rc, out, err = run(st.convbox, "--check-config", "--config", example)
    check(rc == 0, "the bundled example is invalid: %r" % err)
    rc, out, err = run(st.convbox, "--help")
    check(rc == 0 and "converters[i]" in out and "priority" in out, "--help")


if __name__ == "__main__":
    harness.main(test, "check_config")
