# escape: native, with SHELL_EXECUTE (which allows prctl): find any capability left in the bounding or ambient set, unlocked securebits, or no_new_privs off; any of them is a way back to privileges through exec
# layer: capability
# config: native
# caps: SHELL_EXECUTE
# args: --skip-validation
# expect: completed status=Success report.bounding=[] report.ambient=[] report.no_new_privs=1 report.securebits_locked=true
import ctypes

LIBC = ctypes.CDLL(None, use_errno=True)
PR_CAPBSET_READ, PR_GET_SECUREBITS, PR_GET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 23, 27, 39, 47
PR_CAP_AMBIENT_IS_SET = 1
LOCKS = (1 << 1) | (1 << 3) | (1 << 5) | (1 << 7)  # NOROOT, NO_SETUID_FIXUP, KEEP_CAPS, NO_CAP_AMBIENT_RAISE _LOCKED


class CapState:
    def convert_file(self, file_path, args):
        bounding = [c for c in range(64) if LIBC.prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1]
        ambient = [c for c in range(64)
                   if LIBC.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1]
        bits = LIBC.prctl(PR_GET_SECUREBITS, 0, 0, 0, 0)
        return {"status": "Success", "report": {
            "bounding": bounding, "ambient": ambient,
            "no_new_privs": LIBC.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
            "securebits": bits, "securebits_locked": bits >= 0 and bits & LOCKS == LOCKS}}
