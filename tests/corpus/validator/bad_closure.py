# expect: introspection
def outer():
    x = 1
    return lambda: x


cell = outer().__closure__[0]
