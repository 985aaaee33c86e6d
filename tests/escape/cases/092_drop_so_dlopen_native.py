# escape: with ctypes allowed, dlopen a shared object copied into /output (mmap PROT_EXEC on noexec)
# layer: mount
# config: native
# args: --skip-validation
# expect: completed status=Success report.loaded=false
# expect: security
import ctypes
import importlib.machinery
import os
import shutil


class Converter:
    def convert_file(self, file_path, args):
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        src = os.path.join(os.path.dirname(os.__file__), "lib-dynload", "_json" + suffix)
        dst = os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "dropped.so")
        shutil.copyfile(src, dst)
        try:
            ctypes.CDLL(dst)
            return {"status": "Success", "report": {"loaded": True}}
        except OSError as e:
            return {"status": "Success", "report": {"loaded": False, "error": str(e)}}
