# expect: blocked-import
import subprocess
