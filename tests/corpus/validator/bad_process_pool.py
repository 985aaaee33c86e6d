# expect: dangerous-call
from concurrent.futures import ProcessPoolExecutor
