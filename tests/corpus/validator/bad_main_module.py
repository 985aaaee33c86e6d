# expect: introspection
import __main__
