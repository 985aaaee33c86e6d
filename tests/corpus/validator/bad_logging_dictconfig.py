# expect: dynamic-import,dynamic-import
import logging.config

logging.config.dictConfig({'version': 1, 'handlers': {'h': {'()': 'subprocess.getoutput', 'cmd': 'id'}}})
