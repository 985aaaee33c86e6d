# expect: module-alias,blocked-import
import os

m = os
m.system('id')
