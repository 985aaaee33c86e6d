# expect: module-alias
import os


def run(cmd, m=os):
    return m.system(cmd)
