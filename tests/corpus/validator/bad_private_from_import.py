# expect: introspection
from tempfile import _os
