# expect: encoding-declaration,blocked-import
# -*- coding: utf-7 -*-
# only a comment +AAo-import subprocess
x = 1
