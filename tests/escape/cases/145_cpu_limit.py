# escape: burn CPU past --cpu while ignoring SIGXCPU (hard limit must end it)
# layer: rlimit
# args: --skip-validation --cpu 1 --timeout 20
# expect: cpu_limit
import signal


class Converter:
    def convert_file(self, file_path, args):
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        n = 0
        while True:
            n += 1
