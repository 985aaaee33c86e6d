# expect: dynamic-import
import importlib

m = importlib.import_module('subpro' + 'cess')
