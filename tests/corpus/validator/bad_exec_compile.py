# expect: dangerous-call,dangerous-call
exec(compile(open('x').read(), 'x', 'exec'))
