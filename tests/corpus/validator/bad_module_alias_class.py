# expect: module-alias
import sys


class Holder:
    mod = sys
