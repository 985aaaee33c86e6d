# expect: introspection
import os

ns = vars(os)
