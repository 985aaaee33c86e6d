# expect: computed-getattr
from operator import methodcaller


def f(name):
    return methodcaller(name)
