"""Job glue of convbox-runner: load the converter, call it, report the result.

This module is compiled into the runner and runs inside the job child after
every kernel layer is in place. It talks to the host only through the
_convbox built-in module (frames on the job's own channel). Whatever the
converter does to this module's state can only change its own result, which
the host validates like any other hostile input.
"""

import enum
import io
import json
import marshal
import os
import pathlib
import sys
import types

import _convbox

STATUSES = {s.lower(): s for s in ("Success", "Failed", "Suspended", "Skipped", "Rejected")}
POST_ACTIONS = ("move", "delete", "zip", "keep")
MAX_TRACEBACK = 64 * 1024


class Source:
    """What a `convert(source, context)` converter receives as its input."""

    def __init__(self, path):
        self.path = path
        self.name = path.name

    def read_bytes(self):
        return self.path.read_bytes()

    def read_text(self, encoding="utf-8", errors="strict"):
        return self.path.read_text(encoding=encoding, errors=errors)

    def open(self, mode="rb", **kw):
        return open(self.path, mode, **kw)


class Context:
    """What a `convert(source, context)` converter receives alongside."""

    def __init__(self, args, output_dir, temp_dir, logger):
        self.args = args
        self.arguments = args
        self.output_dir = output_dir
        self.temp_dir = temp_dir
        self.log = logger
        self.logger = logger


def _setup_stdio():
    # print() and stray writes go to the host's log pipes, line by line.
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
        )
        setattr(sys, name, stream)
        setattr(sys, "__%s__" % name, stream)


def _setup_logging(logging):
    """Every log record becomes a LOG frame; the host gates levels by capability."""

    class _FrameLogHandler(logging.Handler):
        def emit(self, record):
            try:
                msg = self.format(record)
            except Exception:  # a broken record must not break the conversion
                msg = str(record.msg)
            _convbox.log(record.levelname, msg)

    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = _FrameLogHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


class _SetUpAfter:
    """The loader that found `logging`, which sets up the handler once the
    module has run; anything else is the found loader's."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # create_module and the rest
        return getattr(self._loader, name)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _setup_logging(module)


class _LoggingWatch:
    """Logging is set up when it is first imported, not before: most
    converters never log, and importing it costs a runner 9 ms at start (a
    zygote imports it ahead when the converter names it). This finder stands
    first in sys.meta_path until `logging` is imported, by anyone, in any
    way; it lets the other finders find the module and wraps their loader."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "logging":
            return None
        if _LoggingWatch in sys.meta_path:
            sys.meta_path.remove(_LoggingWatch)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is not None and spec.loader is not None:
                spec.loader = _SetUpAfter(spec.loader)
                return spec
        return None


def _watch_logging():
    logging = sys.modules.get("logging")
    if logging is not None:
        _setup_logging(logging)
    elif _LoggingWatch not in sys.meta_path:
        sys.meta_path.insert(0, _LoggingWatch)


_environment = None  # the (output, temp) views the environment was set up for


def _setup_env(output_view, temp_view):
    global _environment
    os.environ.clear()
    os.environ["CONVBOX_OUTPUT_DIR"] = output_view
    os.environ["HOME"] = "/nonexistent"
    os.environ["LANG"] = "C.UTF-8"
    if temp_view:
        os.environ["TMPDIR"] = temp_view
    # tempfile, imported later, starts from TMPDIR; one imported already is told
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile.tempdir = temp_view
    _environment = (output_view, temp_view)


def _module_name(path):
    base = path.rpartition("/")[2]
    dot = base.rfind(".")
    stem = base[:dot] if 0 < dot < len(base) - 1 else base
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in stem) or "converter"
    return name if not name[0].isdigit() else "_" + name


_compiled = None  # (path, code) of the runner's converter, compiled by a spare ahead of its job


def compile_ahead(path):
    """Runs in a spare child once every kernel layer is in place, before its
    job is known: the converter's validated bytes become a code object (no
    line of the converter runs), so the job only executes it.

    Returns the code, marshalled, for the spares after this one: the runner
    loads it into `_compiled` there (confined like this spare) without
    calling in here."""
    global _compiled
    code = compile(_convbox.source(), path, "exec", dont_inherit=True)
    _compiled = (path, code)
    return marshal.dumps(code)


def _code_for(path):
    if _compiled is not None and _compiled[0] == path:
        return _compiled[1]
    return compile(_convbox.source(), path, "exec", dont_inherit=True)


def _load_module(path):
    name = _module_name(path)
    module = types.ModuleType(name)
    module.__file__ = path
    module.__builtins__ = __builtins__
    code = _code_for(path)
    sys.modules[name] = module
    _convbox.arm()  # from here on, the audit hook enforces the job's policy
    exec(code, module.__dict__)
    return module


def _find_class(module, wanted):
    if wanted:
        cls = module.__dict__.get(wanted)
        if not isinstance(cls, type):
            raise LookupError("the converter module defines no class named %r" % wanted)
        return cls
    found = [
        obj
        for obj in module.__dict__.values()
        if isinstance(obj, type)
        and obj.__module__ == module.__name__
        and (callable(getattr(obj, "convert_file", None)) or callable(getattr(obj, "convert", None)))
    ]
    if not found:
        raise LookupError("the converter module defines no class with convert_file() or convert()")
    if len(found) > 1:
        names = ", ".join(sorted(c.__name__ for c in found))
        raise LookupError("several converter classes (%s): choose one with --class" % names)
    return found[0]


def _call(instance, input_path, args, output_view, temp_view):
    if callable(getattr(instance, "convert_file", None)):
        return instance.convert_file(input_path, args)
    import logging  # set up as it is imported (_LoggingWatch)

    ctx = Context(args, pathlib.Path(output_view), temp_view and pathlib.Path(temp_view),
                  logging.getLogger("converter"))
    return instance.convert(Source(input_path), ctx)


def _field(result, name):
    if isinstance(result, dict):
        return result.get(name)
    return getattr(result, name, None)


def _status(value):
    if isinstance(value, enum.Enum):
        value = value.value if isinstance(value.value, str) else value.name
    if isinstance(value, str):
        return STATUSES.get(value.strip().lower())
    return None


def _plain(value):
    """Report objects: dicts and lists as they are, dataclasses and to_dict() as dicts."""
    if type(value) in (dict, list):
        return value
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    dataclasses = sys.modules.get("dataclasses")  # a dataclass means its module is loaded
    if dataclasses and dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _dumps(value):
    return _ENCODER.encode(_plain(value)).encode("utf-8")


def _json_default(obj):
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, pathlib.PurePath):
        return str(obj)
    datetime = sys.modules.get("datetime")  # a date means its module is loaded
    if datetime and isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    plain = _plain(obj)
    if plain is not obj:
        return plain
    raise TypeError("object of type %s is not JSON serialisable" % type(obj).__name__)


# json.dumps(value, **these) builds this encoder for every call; one serves every report
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"),
                            default=_json_default)


def _send_result(result):
    status = _status(_field(result, "status"))
    if status is None:
        raise _Unusable("the converter returned %s without a usable status (Success, Failed, "
                        "Suspended, Skipped or Rejected)" % type(result).__name__)
    reports = _field(result, "reports")
    report = _field(result, "report")
    single = reports is None
    if single:
        blobs = [] if report is None else [_dumps(report)]
    else:
        blobs = [_dumps(r) for r in reports]
    meta = {"single": single, "status": status}
    for key in ("metadata", "error", "warnings", "suspend_reason", "retry_after"):
        value = _field(result, key)
        if value is not None:
            meta[key] = _plain(value) if key == "metadata" else value
    if isinstance(meta.get("error"), BaseException):
        meta["error"] = "%s: %s" % (type(meta["error"]).__name__, meta["error"])
    action = _field(result, "post_action")
    if isinstance(action, enum.Enum):
        action = action.value
    if action is not None:
        meta["post_action"] = str(action).lower()
    meta_blob = _dumps(meta)
    for blob in blobs:
        _convbox.send_report(blob)
    _convbox.send_result(meta_blob)


class _Unusable(Exception):
    pass


def _error_payload(outcome, exc):
    import traceback  # only a failed conversion needs it

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if len(tb) > MAX_TRACEBACK:
        tb = tb[:MAX_TRACEBACK] + "\n[traceback truncated]"
    return {
        "outcome": outcome,
        "error": {"type": type(exc).__name__, "message": str(exc)[:4096], "traceback": tb},
    }


def _outcome_for(exc):
    if isinstance(exc, MemoryError):
        return "memory_limit"
    if isinstance(exc, OSError) and exc.errno in (27, 28):  # EFBIG, ENOSPC
        return "output_limit"
    if isinstance(exc, RecursionError):
        return "converter_error"
    return "converter_error"


def _report_exception(exc):
    try:
        payload = _error_payload(_outcome_for(exc), exc)
    except BaseException:  # formatting itself may fail under memory pressure
        payload = {"outcome": _outcome_for(exc), "error": {"type": type(exc).__name__,
                                                           "message": "", "traceback": ""}}
    _convbox.send_error(json.dumps(payload).encode("utf-8"))


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


_prepared = False


def _prepare():
    """What every job sets up the same way: standard streams and logging."""
    global _prepared
    if not _prepared:
        _setup_stdio()
        _watch_logging()
        _prepared = True


def _rehearsal_source():
    """convbox's own converter, in the likeness of the runner's: it reads
    with csv and dates its report with datetime only where the zygote has
    those modules (its converter names them), so that the pages they would
    have a job write are not copied ahead for the jobs of every other
    converter (measured with the spec's SafeCSVConverter: about 8 of some 240)."""
    csv = "csv" in sys.modules
    dates = "datetime" in sys.modules
    lines = [
        "import io" if csv else "",
        "import csv" if csv else "",
        "import datetime" if dates else "",
        "from pathlib import Path",
        "",
        "",
        "class RehearsalConverter:",
        "    def convert_file(self, file_path: Path, args: dict):",
        "        content = file_path.read_text()",
        "        rows = list(csv.reader(io.StringIO(content)))" if csv else "",
        "        lines = content.strip().split('\\n')",
        "        header = lines[0].split(',')",
        "        data = [line.split(',') for line in lines[1:]]",
        "        steps = [{'name': h, 'value': r[1] if len(r) > 1 else None}",
        "                 for h, r in zip(header, data)]",
        "        report = {",
        "            'type': 'UUT',",
        "            'partNumber': args.get('part_number', 'UNKNOWN'),",
        "            'serialNumber': data[0][0] if data else 'UNKNOWN',",
        "            'start': datetime.datetime(2026, 1, 1, 12, 0, 0).isoformat(),"
        if dates else "",
        "            'result': 'Passed',",
        "            'steps': steps,",
        "        }",
        "        return {'status': 'Success', 'report': report,",
        "                'metadata': {'rows': len(%s)}}" % ("rows" if csv else "data"),
    ]
    return "\n".join(lines) + "\n"


def rehearsal_code(path):
    """The rehearsal converter, marshalled: the runner loads it as a spare
    loads a job's converter, for each round of its rehearsal job."""
    return marshal.dumps(compile(_rehearsal_source(), path, "exec", dont_inherit=True))


def run_job():
    class_name, args_json, input_view, output_view, temp_view, converter_view = _convbox.job()
    _prepare()
    if _environment != (output_view, temp_view):
        _setup_env(output_view, temp_view)
    try:
        module = _load_module(converter_view)
        cls = _find_class(module, class_name)
        instance = cls()
        args = (json.loads(args_json) if args_json else None) or {}
        result = _call(instance, pathlib.Path(input_view), args, output_view, temp_view)
        _send_result(result)
    except _Unusable as exc:
        _convbox.send_error(json.dumps({"outcome": "converter_error",
                                      "error": {"type": "InvalidResult", "message": str(exc),
                                                "traceback": ""}}).encode("utf-8"))
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: the job ends here
        _report_exception(exc)
    finally:
        _flush()


def run_validate():
    """Static analysis of the converter source, in the same confinement as a job."""
    _convbox.arm()
    _convbox.send_findings(_convbox.validate())
