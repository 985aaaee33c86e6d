# expect: introspection
import sys

sys.modules['os'].system('id')
