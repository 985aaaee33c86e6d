# expect: dangerous-call
from re import compile

del compile
code = compile('1', 'f', 'eval')
