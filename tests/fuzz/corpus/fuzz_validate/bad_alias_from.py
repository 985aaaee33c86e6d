# expect: blocked-import,blocked-import
from os import system as s

s('id')
