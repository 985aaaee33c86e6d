# expect: introspection,introspection,introspection
import sys

g = sys._getframe().f_back.f_globals
