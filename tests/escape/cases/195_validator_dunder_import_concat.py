# escape: __import__('o'+'s') with a computed name (static validation, without --skip-validation)
# layer: validator
# expect: security error^="Converter validation failed:"


class Converter:
    def convert_file(self, file_path, args):
        mod = __import__("o" + "s")
        getattr(mod, "sys" + "tem")("cat \"%s\" > \"%s/pwn\"" % (args["secret"], args["canary_dir"]))
        return {"status": "Success", "report": {}}
