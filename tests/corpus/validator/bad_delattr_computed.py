# expect: computed-getattr
def f(obj, parts):
    delattr(obj, '_'.join(parts))
