"""The convert(source, context) form."""


class LinesConverter:
    def convert(self, source, context):
        text = source.read_text()
        rows = [line for line in text.splitlines() if line.strip()]
        return {
            "status": "success",
            "report": {
                "file": source.name,
                "rows": len(rows),
                "station": context.args.get("station", "none"),
                "count": context.args.get("count"),
            },
            "metadata": {"form": "convert"},
        }
