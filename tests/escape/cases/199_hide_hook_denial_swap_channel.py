# escape: hide the audit hook's denials from the host by swapping the result channel (fd 3) for a pipe while trying forbidden reads, then putting it back
# layer: audit-hook
# expect: security "denied~=result channel (fd 3)"
import os


class HideHookDenial:
    def convert_file(self, file_path, args):
        saved = os.dup(3)
        r, w = os.pipe()
        os.dup2(w, 3)
        tried = []
        for path in (args["secret"], "/etc/shadow", "/proc/1/environ"):
            try:
                with open(path) as f:
                    f.read()
                tried.append("read")
            except Exception as e:
                tried.append(type(e).__name__)
        os.dup2(saved, 3)
        os.close(saved)
        os.set_blocking(r, False)
        try:
            swallowed = len(os.read(r, 65536))
        except BlockingIOError:
            swallowed = 0
        return {"status": "Success", "report": {"tried": tried, "swallowed": swallowed}}
