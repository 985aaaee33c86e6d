# expect: dangerous-call
def convert_file(self, file_path, args):
    return eval(args['expr'])
