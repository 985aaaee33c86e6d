# expect: introspection,introspection
def f(fn):
    g = fn.__dict__.get('__globals__')
    return vars(fn)['__code__']
