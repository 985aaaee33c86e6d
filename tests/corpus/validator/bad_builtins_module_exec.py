# expect: dangerous-call
import builtins

builtins.exec('import os')
