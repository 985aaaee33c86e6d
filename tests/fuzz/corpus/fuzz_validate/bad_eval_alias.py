# expect: dangerous-call,dangerous-call
e = eval
x = e('1 + 1')
