# expect: dangerous-call,dangerous-call
def a():
    # A function-local import does not hide the builtin elsewhere (b below).
    # Resolution is flow-insensitive, so this use is flagged too: only
    # imports at the top of the module make a bare name unambiguous.
    from re import compile
    return compile("x")


def b(src):
    return compile(src, "f", "exec")
