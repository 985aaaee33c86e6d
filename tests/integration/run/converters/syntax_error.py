"""A converter with a syntax error on line 7."""


class Broken:
    def convert_file(self, file_path, args):
        rows = []
        for row in rows
            pass
        return {"status": "Success"}
