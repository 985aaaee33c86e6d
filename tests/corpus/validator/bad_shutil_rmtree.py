# expect: dangerous-call
import shutil

shutil.rmtree('/output')
