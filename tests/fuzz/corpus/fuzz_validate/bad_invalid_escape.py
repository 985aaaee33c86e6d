# expect: python-warning
import re

DIGITS = re.compile('\d+')
