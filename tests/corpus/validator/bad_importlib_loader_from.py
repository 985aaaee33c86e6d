# expect: dynamic-import
from importlib.machinery import SourceFileLoader
