# escape: walk object.__subclasses__() to os._wrap_close and call os.system through its __globals__
# layer: audit-hook, seccomp, mount
# args: --skip-validation
# expect: security


class Converter:
    def convert_file(self, file_path, args):
        payload = f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'"
        for cls in ().__class__.__base__.__subclasses__():
            if cls.__name__ == "_wrap_close":
                system = cls.__init__.__globals__["system"]
                try:
                    rc = system(payload)
                    return {"status": "Success", "report": {"rc": rc}}
                except Exception as e:
                    return {"status": "Failed", "report": {"error": repr(e)}}
        return {"status": "Failed", "report": {"error": "_wrap_close not found"}}
