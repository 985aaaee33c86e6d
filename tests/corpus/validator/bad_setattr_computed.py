# expect: computed-getattr
def f(obj, name, value):
    setattr(obj, name, value)
