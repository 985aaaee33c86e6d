# escape: start threads until it fails (no audit event exists for threads); bounded to 2000
# layer: rlimit
# args: --skip-validation --max-procs 8
# expect: completed status=Success report.threads<=8
import threading


class Converter:
    def convert_file(self, file_path, args):
        stop = threading.Event()
        started, error = [], None
        for _ in range(2000):
            t = threading.Thread(target=stop.wait, daemon=True)
            try:
                t.start()
            except RuntimeError as e:
                error = str(e)
                break
            started.append(t)
        stop.set()
        for t in started:
            t.join()
        return {"status": "Success", "report": {"threads": len(started), "error": error}}
