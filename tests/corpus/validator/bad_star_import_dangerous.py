# expect: dangerous-call
from pty import *

spawn('/bin/sh')
