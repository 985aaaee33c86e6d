# expect: not-utf8
name = 'café'
