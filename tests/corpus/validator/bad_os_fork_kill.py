# expect: dangerous-call,dangerous-call
import os

if os.fork() == 0:
    os.kill(1, 9)
