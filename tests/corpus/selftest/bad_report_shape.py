"""Must NOT pass the corpus check: success, but the report is not WSJF-shaped."""


class BadShape:
    def convert_file(self, file_path, args):
        return {"status": "Success", "report": {"type": "UUT", "partNumber": "X",
                                                 "result": "Passed"}}
