# expect: introspection
def f(func):
    return getattr(func, '__globals__')
