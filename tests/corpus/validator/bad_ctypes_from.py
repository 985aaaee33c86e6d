# expect: blocked-import
from ctypes import CDLL
