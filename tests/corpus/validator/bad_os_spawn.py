# expect: dangerous-call,dangerous-call
import os

os.spawnlp(os.P_WAIT, 'ls', 'ls')
os.posix_spawn('/bin/ls', ['ls'], {})
