"""Writes the runner's job glue, compiled, as a C header.

usage: python3.11 -I scripts/marshal_glue.py python/convbox_job.py OUT.h

The code object is compiled exactly as the runner would compile the source
(file name "<convbox-runner>", no inherited flags, the interpreter's
optimisation level 0) and marshalled. The header also carries the
interpreter's magic number: a runner whose libpython has another one
compiles the source instead (marshal's format is only stable within one)."""
import importlib.util
import marshal
import sys


def c_bytes(data):
    return ",".join("0x%02x" % b for b in data)


def main():
    src_path, out_path = sys.argv[1:3]
    with open(src_path, "rb") as f:
        source = f.read()
    code = compile(source, "<convbox-runner>", "exec", dont_inherit=True, optimize=0)
    blob = marshal.dumps(code)
    magic = int.from_bytes(importlib.util.MAGIC_NUMBER, "little")
    with open(out_path, "w") as out:
        out.write("/* generated from python/convbox_job.py by scripts/marshal_glue.py */\n")
        out.write("static const long cvb_glue_code_magic = %dL;\n" % magic)
        out.write("static const unsigned char cvb_glue_code[] = {%s};\n" % c_bytes(blob))


if __name__ == "__main__":
    main()
