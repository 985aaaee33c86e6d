# expect: blocked-import
from multiprocessing import Process
