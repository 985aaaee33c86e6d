# expect: dangerous-call
import pty

pty.spawn('/bin/sh')
