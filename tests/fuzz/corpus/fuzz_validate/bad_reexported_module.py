# expect: blocked-import
import shutil

shutil.os.system('id')
