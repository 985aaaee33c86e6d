# escape: exec(compile(...)) of code that reads the secret with io.FileIO
# layer: audit-hook, mount, landlock
# args: --skip-validation
# expect: security


class Converter:
    def convert_file(self, file_path, args):
        scope = {"path": args["secret"]}
        code = compile("import io\nleak = io.FileIO(path).read().decode()", "<hidden>", "exec")
        try:
            exec(code, scope)
            return {"status": "Success", "report": {"leak": scope.get("leak")}}
        except Exception as e:
            return {"status": "Failed", "report": {"error": repr(e)}}
