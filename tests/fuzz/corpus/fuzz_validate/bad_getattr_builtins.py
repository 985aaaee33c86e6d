# expect: introspection,computed-getattr
f = getattr(__builtins__, 'ev' + 'al')
