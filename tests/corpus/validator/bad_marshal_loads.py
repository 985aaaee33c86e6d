# expect: dangerous-call
import marshal

code = marshal.loads(b'')
