# escape: copy a stdlib extension (.so) into /output and load it from there (noexec must refuse the mapping)
# layer: mount, landlock, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Success report.loaded=false
import importlib.machinery
import importlib.util
import os
import shutil


class Converter:
    def convert_file(self, file_path, args):
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        src = os.path.join(os.path.dirname(os.__file__), "lib-dynload", "_json" + suffix)
        dst = os.path.join(os.environ.get("CONVBOX_OUTPUT_DIR", "/output"), "_json" + suffix)
        try:
            shutil.copyfile(src, dst)
        except OSError as e:
            return {"status": "Failed", "report": {"copy": repr(e)}}
        name = "dropped._json"
        try:
            loader = importlib.machinery.ExtensionFileLoader(name, dst)
            spec = importlib.util.spec_from_file_location(name, dst, loader=loader)
            mod = importlib.util.module_from_spec(spec)
            return {"status": "Success", "report": {"loaded": True, "mod": repr(mod)}}
        except ImportError as e:
            return {"status": "Success", "report": {"loaded": False, "error": str(e)}}
