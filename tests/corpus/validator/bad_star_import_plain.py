# expect: star-import
from json import *
