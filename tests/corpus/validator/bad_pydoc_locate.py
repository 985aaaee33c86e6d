# expect: dynamic-import,dynamic-import
from pydoc import locate

run = locate('os.system')
