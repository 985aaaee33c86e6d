# expect: dynamic-import
m = __import__('o' + 's')
