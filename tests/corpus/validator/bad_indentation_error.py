# expect: syntax-error
def f():
return 1
