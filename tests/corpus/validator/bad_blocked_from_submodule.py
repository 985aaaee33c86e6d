# expect: blocked-import
from ctypes import util
