# escape: NaN and Infinity in the report (not JSON; the host must never emit them)
# layer: host
# args: --skip-validation
# expect: completed status=Success
# expect: converter_error
# expect: protocol


class Converter:
    def convert_file(self, file_path, args):
        return {"status": "Success",
                "report": {"nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")}}
