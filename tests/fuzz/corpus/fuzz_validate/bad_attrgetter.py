# expect: introspection
import operator

get = operator.attrgetter('__globals__')
