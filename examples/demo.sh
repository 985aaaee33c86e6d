#!/bin/sh
# The bundled example: the station converter over the example drop folder,
# every file in its own confined process. Usage: examples/demo.sh [BUILD_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== convbox check"
"$build/convbox" check || true
echo
echo "== convbox run examples/converters/csv_station.py examples/drop/*.csv"
set +e
"$build/convbox" run "$here/converters/csv_station.py" "$here"/drop/*.csv \
	--arg revision=B --output-dir "$out"
rc=$?
set -e
echo
echo "== exit status $rc (1: one file failed to convert, as the example intends)"
echo "== output files collected from the sandbox:"
ls -l "$out"
[ "$rc" -le 1 ]
