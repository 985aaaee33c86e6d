# escape: the reference bypass args.__class__.__post_init__.__globals__, then any runner module holding os
# layer: audit-hook, seccomp, mount
# args: --skip-validation
# expect: security
import sys


class Converter:
    def convert_file(self, file_path, args):
        found = []
        try:
            found.append(("post_init", args.__class__.__post_init__.__globals__["os"]))
        except (AttributeError, KeyError):
            pass
        for name, mod in list(sys.modules.items()):
            for attr in ("os", "_os", "posix", "nt"):
                candidate = getattr(mod, attr, None)
                if candidate is not None and hasattr(candidate, "system"):
                    found.append((f"{name}.{attr}", candidate))
        if not found:
            return {"status": "Failed", "report": {"found": []}}
        where, os_mod = found[0]
        try:
            rc = os_mod.system(f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'")
            return {"status": "Success", "report": {"via": where, "rc": rc}}
        except Exception as e:
            return {"status": "Failed", "report": {"via": where, "error": repr(e)}}
