# expect: dangerous-call,dangerous-call
import posix

posix.system('id')
