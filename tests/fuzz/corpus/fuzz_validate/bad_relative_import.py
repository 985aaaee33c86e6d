# expect: relative-import
__package__ = 'os'
from . import system
