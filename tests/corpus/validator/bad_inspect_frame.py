# expect: introspection,introspection
import inspect

f = inspect.currentframe().f_back
