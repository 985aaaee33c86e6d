# expect: introspection
import types

f = types.FunctionType(compile_me, {})
