# expect: blocked-import
import os

run = getattr(os, 'system')
