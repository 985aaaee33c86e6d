# expect: computed-getattr
import shutil

osmod = getattr(shutil, 'os')
