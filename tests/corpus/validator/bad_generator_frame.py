# expect: introspection,introspection
def gen():
    yield 1


g = gen()
x = g.gi_frame.f_globals
