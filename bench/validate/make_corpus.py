"""Build a large converter corpus for the validator benchmark.

    python3.11 -I make_corpus.py HONEST_DIR HOSTILE_DIR OUT_DIR COUNT

Writes COUNT files into OUT_DIR: nine in ten are variants of the honest
converters (a varying number of generated helper functions and methods
appended, so sizes spread from about 1 to 15 KB), one in ten
variants of the hostile files. OUT_DIR/manifest.tsv lists each file with
"honest" or "hostile". Deterministic: the same arguments give the same files.
"""

import pathlib
import random
import sys

HELPER_FUNCTION = '''

def _parse_field_{n}(text, default=None):
    """Helper {n}: split a `key=value;unit` field, tolerant of blanks."""
    text = (text or "").strip()
    if not text:
        return default
    key, _, rest = text.partition("=")
    value, _, unit = rest.partition(";")
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        number = None
    return {{"key": key.strip(), "value": number, "unit": unit.strip() or None}}
'''

HELPER_METHOD = '''
    def _limits_{n}(self, low, high, value):
        """Generated check {n}: classify a value against optional limits."""
        if low is not None and value < low:
            return "F", "below {n}"
        if high is not None and value > high:
            return "F", "above {n}"
        return "P", ""
'''


def honest_variant(source, index, rng):
    text = f"# benchmark variant {index}\n" + source.rstrip("\n") + "\n"
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    methods = ""
    if last.startswith("    "):  # the file ends inside a class: grow that class
        methods = "".join(HELPER_METHOD.format(n=f"{index}_{k}")
                          for k in range(rng.randrange(0, 12)))
    functions = "".join(HELPER_FUNCTION.format(n=f"{index}_{k}")
                        for k in range(rng.randrange(0, 20)))
    return text + methods + functions


def main(argv):
    honest_dir, hostile_dir, out_dir, count = (pathlib.Path(argv[0]), pathlib.Path(argv[1]),
                                               pathlib.Path(argv[2]), int(argv[3]))
    honest = sorted(honest_dir.glob("*.py"))
    hostile = sorted(hostile_dir.glob("bad_*.py"))
    rng = random.Random(20240601)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for i in range(count):
        if i % 10 == 9:
            src = hostile[(i // 10) % len(hostile)]
            data = src.read_bytes() + HELPER_FUNCTION.format(n=i).encode()
            kind = "hostile"
        else:
            src = honest[i % len(honest)]
            data = honest_variant(src.read_text(encoding="utf-8"), i, rng).encode("utf-8")
            kind = "honest"
        name = f"{i:05d}_{src.stem}.py"
        (out_dir / name).write_bytes(data)
        manifest.append(f"{name}\t{kind}\n")
    (out_dir / "manifest.tsv").write_text("".join(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
