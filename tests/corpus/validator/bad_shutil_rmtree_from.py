# expect: dangerous-call,dangerous-call
from shutil import rmtree as wipe

wipe('/output')
