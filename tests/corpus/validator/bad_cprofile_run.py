# expect: dangerous-call,dangerous-call
import cProfile

cProfile.run('print(1)')
