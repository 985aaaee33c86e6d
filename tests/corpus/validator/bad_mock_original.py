# expect: dynamic-import,dynamic-import
from unittest import mock

real = mock.patch('os.system').get_original()[0]
