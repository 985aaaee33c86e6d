# expect: introspection
import gc

objs = gc.get_objects()
