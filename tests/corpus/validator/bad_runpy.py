# expect: dynamic-import
import runpy
