# expect: dangerous-call
import doctest
