# expect: blocked-import
from os import *

system('id')
