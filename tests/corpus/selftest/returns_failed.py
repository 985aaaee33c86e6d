"""Must NOT pass the corpus check: it reports status Failed."""


class ReturnsFailed:
    def convert_file(self, file_path, args):
        return {"status": "Failed", "error": "by design"}
