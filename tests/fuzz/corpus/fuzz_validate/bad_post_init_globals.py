# expect: introspection
class C:
    def convert_file(self, file_path, args):
        g = args.__class__.__post_init__.__globals__
        return g['os'].system('id')
