# escape: read /proc/1/environ and /proc/self/environ (the host token lives in the host env)
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security
# denied-capability: null


class Converter:
    def convert_file(self, file_path, args):
        got = {}
        for path in ("/proc/1/environ", "/proc/self/environ", "/proc/1/cmdline"):
            try:
                with open(path, "rb") as f:
                    got[path] = f.read(8192).decode(errors="replace")
            except Exception as e:
                got[path] = repr(e)
        return {"status": "Success", "report": got}
