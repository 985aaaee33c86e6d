# escape: busy loop that ignores SIGTERM, SIGINT, SIGHUP and SIGXCPU
# layer: timeout
# args: --skip-validation --timeout 2 --cpu 60
# expect: timeout
import signal


class Converter:
    def convert_file(self, file_path, args):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGXCPU):
            signal.signal(sig, signal.SIG_IGN)
        n = 0
        while True:
            n += 1
