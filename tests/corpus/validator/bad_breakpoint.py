# expect: dangerous-call
def f():
    breakpoint()
