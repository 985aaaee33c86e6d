"""Run a converter in a plain Python process: no sandbox, no validator.

    python3.11 -I run_plain.py CONVERTER INPUT [--arg NAME=VALUE]...
        Load CONVERTER (a .py file), find its one converter class (the class
        defined in that file with a convert_file or convert method), call it
        on INPUT given as a pathlib.Path, and print the result as JSON.
        Exit 0 when the status is success, 1 when it is not, 2 when the
        converter cannot be loaded or raises.

    python3.11 -I run_plain.py --check DIR
        For every DIR/*.py with an input DIR/inputs/<stem>.<ext>, run it as
        above and check the result: status success and every report shaped
        like a WATS WSJF report. Prints one line per converter; exit 1 if any
        fails.

Converter forms accepted (see REFERENCE.md):
  convert_file(self, file_path, args) -> dict {"status", "report", ...} or an
      object with attributes status (an enum or a string), report, reports,
      error, warnings, post_action, metadata, ...
  convert(self, source, context) -> the same; source is the input Path and
      context an object with .args (dict), .input_path and .file_name.

This script is the "fresh Python per file" baseline of the benchmarks, so it
imports only what it needs.
"""

import dataclasses
import enum
import importlib.util
import json
import pathlib
import sys
import types

sys.dont_write_bytecode = True  # never leave __pycache__ next to the converters

RESULT_FIELDS = ("status", "report", "reports", "error", "warnings", "post_action",
                 "metadata", "suspend_reason", "retry_after")
STATUSES = {"success", "failed", "suspended", "skipped", "rejected"}
RESULTS = {"P", "F", "D", "E", "T"}


class LoadError(Exception):
    pass


def load_converter_class(path):
    spec = importlib.util.spec_from_file_location("converter_" + path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = [obj for obj in vars(module).values()
             if isinstance(obj, type) and obj.__module__ == module.__name__
             and ("convert_file" in obj.__dict__ or "convert" in obj.__dict__)]
    if len(found) != 1:
        raise LoadError(f"{path.name}: expected one converter class, found {len(found)}")
    return found[0]


def jsonable(value):
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, pathlib.PurePath):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def normalise(result):
    if isinstance(result, dict):
        out = dict(result)
    else:
        out = {name: getattr(result, name) for name in RESULT_FIELDS if hasattr(result, name)}
    out = jsonable(out)
    status = out.get("status")
    out["status"] = status.lower() if isinstance(status, str) else status
    return out


def run(converter_path, input_path, args=None):
    cls = load_converter_class(converter_path)
    converter = cls()
    args = dict(args or {})
    if "convert_file" in cls.__dict__:
        result = converter.convert_file(input_path, args)
    else:
        context = types.SimpleNamespace(args=args, input_path=input_path,
                                        file_name=input_path.name)
        result = converter.convert(input_path, context)
    return normalise(result)


def report_problems(report):
    """What makes `report` not look like a WSJF report (empty list: fine)."""
    problems = []
    if not isinstance(report, dict):
        return ["report is not an object"]
    for key in ("pn", "sn", "rev"):
        value = report.get(key)
        if not isinstance(value, str) or not 1 <= len(value) <= 100:
            problems.append(f"{key} missing or not 1-100 characters")
        elif any(ch in value for ch in "*%?[]^!/\\") and key != "rev":
            problems.append(f"{key} contains a forbidden character")
    if report.get("type") not in ("T", "R"):
        problems.append("type is not T or R")
    if not isinstance(report.get("processCode"), int):
        problems.append("processCode is not an integer")
    if report.get("result") not in RESULTS:
        problems.append("result is not one of P F D E T")
    start = report.get("start")
    if not isinstance(start, str) or len(start) < 16 or not (start.endswith("Z")
                                                            or start[-6] in "+-"):
        problems.append("start is not ISO 8601 with an offset")
    root = report.get("root")
    if not isinstance(root, dict) or root.get("stepType") != "SequenceCall":
        problems.append("root is not a SequenceCall step")
    elif not isinstance(root.get("steps"), list):
        problems.append("root has no steps list")
    return problems


def check_result(result):
    problems = []
    if result.get("status") != "success":
        problems.append(f"status {result.get('status')!r}: {result.get('error')}")
    reports = list(result.get("reports") or [])
    if result.get("report") is not None:
        reports.insert(0, result["report"])
    if not reports:
        problems.append("no report")
    for i, report in enumerate(reports):
        problems += [f"report {i}: {p}" for p in report_problems(report)]
    return problems


def input_for(converter_path):
    inputs = sorted(converter_path.parent.joinpath("inputs").glob(converter_path.stem + ".*"))
    return inputs[0] if len(inputs) == 1 else None


def check_dir(directory):
    failures = 0
    converters = sorted(directory.glob("*.py"))
    for conv in converters:
        inp = input_for(conv)
        try:
            problems = ["no single input file"] if inp is None else check_result(run(conv, inp))
        except Exception as exc:  # a converter that raises is a failed check
            problems = [f"raised {type(exc).__name__}: {exc}"]
        failures += bool(problems)
        print(("FAIL " if problems else "ok   ") + conv.name + "".join("\n     " + p for p in problems))
    print(f"{len(converters) - failures}/{len(converters)} converters ok")
    return 1 if failures or not converters else 0


def main(argv):
    if len(argv) == 2 and argv[0] == "--check":
        return check_dir(pathlib.Path(argv[1]))
    if len(argv) < 2 or argv[0].startswith("-"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    args = {}
    for opt, value in zip(argv[2::2], argv[3::2]):
        if opt != "--arg" or "=" not in value:
            print(f"bad option {opt} {value}", file=sys.stderr)
            return 2
        name, _, val = value.partition("=")
        args[name] = val
    try:
        result = run(pathlib.Path(argv[0]), pathlib.Path(argv[1]), args)
    except Exception as exc:
        print(json.dumps({"status": "error", "error": f"{type(exc).__name__}: {exc}"}))
        return 2
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0 if result.get("status") == "success" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
