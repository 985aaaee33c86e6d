# expect: introspection
def f():
    return vars()
