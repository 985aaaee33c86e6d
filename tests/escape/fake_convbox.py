"""A deliberately BROKEN stand-in for `convbox run`, for drilling the harness.

It speaks the command-line contract of `convbox run` but confines nothing:
the converter runs as a plain child process with the caller's rights, only
the memory, CPU and wall limits are applied (so that the drill itself stays
cheap). Running the escape suite against it must make every hostile case
fail, and must leave the machine unharmed:

    /usr/bin/python3.11 -I tests/escape/run_escape.py \
        --convbox tests/escape/fake_convbox.py

Only the baseline and positive-capability cases are expected to pass.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile

CHILD = r"""
import importlib.util, json, sys, os, traceback
path, inp, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
spec = importlib.util.spec_from_file_location("converter", path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
cls = [v for v in vars(mod).values() if isinstance(v, type) and hasattr(v, "convert_file")][0]
try:
    res = cls().convert_file(inp, args)
    out = {"outcome": "completed", "status": res.get("status", "Success"),
           "report": res.get("report"), "metadata": res.get("metadata"), "error": res.get("error")}
except MemoryError:
    out = {"outcome": "memory_limit", "error": "MemoryError"}
except BaseException as e:
    out = {"outcome": "converter_error", "error": repr(e)}
out.update({"logs": [], "denied": [], "usage": {}, "input": inp})
os.write(1, ("\n" + json.dumps(out, default=str) + "\n").encode())
"""

EXIT = {"converter_error": 1, "security": 3, "timeout": 4, "cpu_limit": 5, "memory_limit": 5,
        "output_limit": 5, "crashed": 6, "protocol": 6, "sandbox_error": 6}


def parse(argv):
    p = argparse.ArgumentParser(prog="fake_convbox run")
    p.add_argument("cmd")
    p.add_argument("converter")
    p.add_argument("inputs", nargs="+")
    p.add_argument("--arg", action="append", default=[])
    p.add_argument("--cap", action="append", default=[])
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--cpu", type=float, default=120)
    p.add_argument("--memory", type=int, default=512)
    p.add_argument("--output-dir")
    for flag in ("--max-output", "--max-files", "--max-procs", "--config"):
        p.add_argument(flag)
    for flag in ("--no-default-caps", "--trusted", "--skip-validation", "--allow-degraded",
                 "--cold"):
        p.add_argument(flag, action="store_true")
    return p.parse_args(argv)


def limits(ns):
    def apply():
        mem = max(ns.memory, 256) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        cpu = int(ns.cpu)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    return apply


def run_one(ns, args, inp):
    scratch = tempfile.mkdtemp(prefix="fake-convbox-")
    env = dict(os.environ, CONVBOX_OUTPUT_DIR=ns.output_dir or "/nonexistent", TMPDIR=scratch)
    cmd = [sys.executable, "-I", "-B", "-c", CHILD, ns.converter, inp, json.dumps(args)]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=ns.timeout, env=env,
                           preexec_fn=limits(ns), cwd=ns.output_dir or "/")
    except subprocess.TimeoutExpired:
        return {"outcome": "timeout", "input": inp, "logs": [], "denied": []}
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", scratch])
    lines = [l for l in p.stdout.splitlines() if l.startswith(b'{"outcome"')]
    if lines:
        return json.loads(lines[-1])
    return {"outcome": "crashed", "error": f"exit {p.returncode}", "input": inp, "logs": [],
            "denied": []}


def main(argv):
    ns = parse(argv)
    args = {}
    for item in ns.arg:
        key, _, value = item.partition("=")
        try:
            args[key] = json.loads(value)
        except ValueError:
            args[key] = value
    rc = 0
    for inp in ns.inputs:
        res = run_one(ns, args, inp)
        print(json.dumps(res, default=str), flush=True)
        if res["outcome"] == "completed":
            code = 0 if str(res.get("status")).lower() == "success" else 1
        else:
            code = EXIT.get(res["outcome"], 6)
        rc = max(rc, code)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
