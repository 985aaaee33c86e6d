# escape: build a code object by hand (types.CodeType / code.replace) that calls os.system
# layer: audit-hook, seccomp
# args: --skip-validation
# expect: security
import types


def template(cmd):
    return __import__("os").system(cmd)


class Converter:
    def convert_file(self, file_path, args):
        cmd = f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'"
        c = template.__code__
        notes = {}
        try:
            crafted = types.CodeType(
                c.co_argcount, c.co_posonlyargcount, c.co_kwonlyargcount, c.co_nlocals,
                c.co_stacksize, c.co_flags, c.co_code, c.co_consts, c.co_names, c.co_varnames,
                c.co_filename, "crafted", c.co_qualname, c.co_firstlineno, c.co_linetable,
                c.co_exceptiontable, c.co_freevars, c.co_cellvars)
            notes["rc"] = types.FunctionType(crafted, {"__builtins__": __builtins__})(cmd)
        except Exception as e:
            notes["codetype"] = repr(e)
        try:
            replaced = c.replace(co_name="replaced")
            notes["rc2"] = types.FunctionType(replaced, {"__builtins__": __builtins__})(cmd)
        except Exception as e:
            notes["replace"] = repr(e)
        return {"status": "Success", "report": notes}
