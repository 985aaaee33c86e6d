# expect: dangerous-call
import os

print(os.popen('id').read())
