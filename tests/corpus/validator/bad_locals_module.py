# expect: introspection,introspection
b = locals()['__builtins__']
