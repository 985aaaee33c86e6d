"""Path (a) of the benchmark: what the spec documents, a fresh interpreter per
file and no sandbox. Imports what a converter host imports, loads the
converter, converts one file, prints the result as JSON.

usage: python3.11 -I plain_convert.py CONVERTER.py INPUT
"""
import csv  # noqa: F401  (the stdlib modules a converter host loads)
import datetime  # noqa: F401
import importlib.util
import json
import pathlib
import re  # noqa: F401
import sys
import xml.etree.ElementTree  # noqa: F401


def main():
    spec = importlib.util.spec_from_file_location("converter", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = next(v for v in vars(module).values()
               if isinstance(v, type) and hasattr(v, "convert_file"))
    result = cls().convert_file(pathlib.Path(sys.argv[2]), {})
    print(json.dumps(result))


main()
