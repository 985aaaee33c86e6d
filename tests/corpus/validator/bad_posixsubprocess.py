# expect: dangerous-call
import _posixsubprocess
