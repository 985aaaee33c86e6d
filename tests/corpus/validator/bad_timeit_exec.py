# expect: dangerous-call,dangerous-call
import timeit

timeit.timeit("__import__('os').system('id')", number=1)
