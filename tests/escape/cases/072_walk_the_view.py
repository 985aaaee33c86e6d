# escape: walk the whole visible filesystem looking for the secret or any station file
# layer: mount, landlock, audit-hook
# args: --skip-validation
# expect: security
# expect: completed status=Success report.found=[] report.proc=false report.run=false
import os
import time


class Converter:
    def convert_file(self, file_path, args):
        found, seen, deadline = [], 0, time.monotonic() + 4
        want = (os.path.basename(args["secret"]), "harness.sock", "canary")
        for dirpath, dirnames, filenames in os.walk("/", onerror=lambda e: None):
            dirnames[:] = [d for d in dirnames if not (dirpath == "/" and d in ("sys", "dev"))]
            seen += 1
            for name in dirnames + filenames:
                if name in want:
                    found.append(os.path.join(dirpath, name))
            if seen > 20000 or time.monotonic() > deadline:
                break
        return {"status": "Success",
                "report": {"found": found, "dirs": seen, "proc": os.path.exists("/proc/self"),
                           "run": os.path.isdir("/run"), "top": sorted(os.listdir("/"))}}
