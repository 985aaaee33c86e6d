"""An HTML report from a web-based tester, read with html.parser."""

from html.parser import HTMLParser


class _TableParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.meta = [], {}
        self._row, self._cell = None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self._row = []
        elif tag == "td":
            self._cell = ""
        elif tag == "meta" and "name" in attrs:
            self.meta[attrs["name"]] = attrs.get("content", "")

    def handle_endtag(self, tag):
        if tag == "td" and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


class HtmlTableConverter:
    name = "HtmlTableConverter"
    file_patterns = ["*.html", "*.htm"]

    def convert_file(self, file_path, args):
        parser = _TableParser()
        parser.feed(file_path.read_text(encoding="utf-8"))
        parser.close()
        steps = []
        for name, value, unit, verdict in parser.rows:
            status = "P" if verdict.upper() == "PASS" else "F"
            steps.append({"stepType": "ET_NLT", "name": name, "group": "M", "status": status,
                          "numericMeas": [{"status": status, "value": float(value),
                                           "unit": unit, "compOp": "LOG"}]})
        result = "P" if all(s["status"] == "P" for s in steps) else "F"
        meta = parser.meta
        return {"status": "Success", "report": {
            "type": "T", "pn": meta["part"], "sn": meta["serial"], "rev": "1",
            "processCode": 10, "result": result, "start": meta["date"],
            "root": {"stepType": "SequenceCall", "name": "HTML", "status": result,
                     "seqCall": {"path": "html", "name": "HTML", "version": "1"},
                     "steps": steps}}}
