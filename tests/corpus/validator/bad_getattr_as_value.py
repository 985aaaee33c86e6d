# expect: computed-getattr
g = getattr
x = g(object, 'y')
