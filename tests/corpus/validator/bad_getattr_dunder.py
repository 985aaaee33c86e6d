# expect: computed-getattr
def f(obj):
    return getattr(obj, '__class__')
