"""Burns CPU forever."""


class SpinConverter:
    def convert_file(self, file_path, args):
        while True:
            pass
