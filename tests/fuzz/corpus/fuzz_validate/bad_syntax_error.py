# expect: syntax-error
def convert_file(self, file_path:
    pass
