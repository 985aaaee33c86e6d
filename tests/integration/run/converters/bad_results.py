"""Returns something that is not a usable result, chosen by --arg mode=..."""


class Opaque:
    pass


class BadResultConverter:
    def convert_file(self, file_path, args):
        mode = args["mode"]
        if mode == "none":
            return None
        if mode == "no_status":
            return {"report": {"sn": "SN-1"}, "metadata": {"x": 1}}
        if mode == "unknown_status":
            return {"status": "Done", "report": {"sn": "SN-1"}}
        if mode == "set_report":
            return {"status": "Success", "report": {"values": {1, 2, 3}}}
        if mode == "object_report":
            return {"status": "Success", "report": {"thing": Opaque()}}
        if mode == "nan_report":
            return {"status": "Success", "report": {"value": float("nan")}}
        raise AssertionError("unknown mode " + mode)
