# expect: introspection
b = globals()['__buil' + 'tins__']
