# expect: introspection
import os

f = os.__dict__['sys' + 'tem']
