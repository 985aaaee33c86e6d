# escape: getattr(__import__('o'+'s'), 'sys'+'tem')(...) hides the names from a validator
# layer: audit-hook, seccomp
# args: --skip-validation
# expect: security


class Converter:
    def convert_file(self, file_path, args):
        try:
            fn = getattr(__import__("o" + "s"), "sys" + "tem")
            rc = fn(f"cp '{args['secret']}' '{args['canary_dir']}/pwn'")
            return {"status": "Success", "report": {"rc": rc}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
