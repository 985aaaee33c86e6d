# expect: introspection,introspection
objs = type(1).__mro__[-1].__subclasses__()
