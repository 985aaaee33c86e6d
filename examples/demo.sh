#!/bin/sh
# The bundled example: the station service (convbox serve) on an example drop
# folder with the example converter. Every file is converted in its own
# confined process; reports land in the spool, inputs in Done or Error.
# Usage: examples/demo.sh [BUILD_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
station=$(mktemp -d)
trap 'rm -rf "$station"' EXIT

echo "== convbox check"
"$build/convbox" check || true

# A private copy of the example station, so the repository stays as it is.
mkdir -p "$station/serve" "$station/converters"
cp "$here/serve/station.json" "$station/serve/"
cp "$here/converters/csv_station.py" "$station/converters/"
mkdir -p "$station/serve/drop/csv" "$station/serve/drop/archive"
cp "$here"/drop/*.csv "$station/serve/drop/csv/"
echo
echo "== drop folder: $(ls "$station/serve/drop/csv" | tr '\n' ' ')"
"$build/convbox" serve --config "$station/serve/station.json" --check-config

echo
echo "== convbox serve --config station.json (stopped once the drop folder is empty)"
"$build/convbox" serve --config "$station/serve/station.json" 2>"$station/serve.log" &
pid=$!
for _ in $(seq 1 60); do
	left=$(find "$station/serve/drop/csv" -maxdepth 1 -type f -name '*.csv' | wc -l)
	[ "$left" -eq 0 ] && [ -n "$(ls "$station/serve/spool" 2>/dev/null)" ] && break
	sleep 0.5
done
sleep 1
kill -TERM "$pid"
wait "$pid" || true
cat "$station/serve.log"

echo
echo "== spooled reports (ready for upload):"
ls -l "$station/serve/spool"
echo "== Done:"
ls "$station/serve/drop/csv/Done" 2>/dev/null || true
echo "== Error (each failed file has a .error.json beside it):"
ls "$station/serve/drop/csv/Error" 2>/dev/null || true
for f in "$station"/serve/drop/csv/Error/*.error.json; do
	[ -f "$f" ] && head -c 600 "$f" && echo
done
echo
echo "== one report:"
for r in "$station"/serve/spool/*.queued; do
	head -c 400 "$r"
	echo
	break
done
[ -n "$(ls "$station/serve/spool")" ]
