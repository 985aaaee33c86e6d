"""Sleeps when asked to (by the input's content), so a test can act mid-job."""
import time


class Slow:
    def convert_file(self, file_path, args):
        text = file_path.read_text()
        if text.startswith("slow"):
            time.sleep(float(args.get("sleep", 5)))
        return {"status": "Success", "report": {"name": file_path.name}}
