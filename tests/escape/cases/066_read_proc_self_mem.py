# escape: read /proc/self/mem (and /proc/self/maps)
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null


class Converter:
    def convert_file(self, file_path, args):
        got = {}
        for path in ("/proc/self/maps", "/proc/self/mem"):
            try:
                with open(path, "rb") as f:
                    got[path] = len(f.read(4096))
            except Exception as e:
                got[path] = repr(e)
        return {"status": "Success", "report": got}
