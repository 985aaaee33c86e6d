# expect: dangerous-call
import os

os.execv('/bin/sh', ['sh'])
