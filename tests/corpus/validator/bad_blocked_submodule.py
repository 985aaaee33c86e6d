# expect: blocked-import
import ctypes.util
