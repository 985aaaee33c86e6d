# expect: introspection,introspection
classes = ().__class__.__base__.__subclasses__()
