#!/usr/bin/env bash
# Validator throughput side by side with Debian's bandit, on the same corpus.
#
#   bench/validate_bench.sh [FILES]          (default 2000 files, about 10 MB)
#
# Builds a corpus from tests/corpus (nine in ten honest converter variants,
# one in ten hostile files), compiles bench/validate/validate_files.c (one
# embedded interpreter validating every file), then times it and bandit on
# the same files and prints files/s, MB/s, the ratio, and which files each
# tool flagged.
#
# Environment:
#   REPEAT=3         validator runs (the median is reported)
#   BANDIT_REPEAT=1  bandit runs (median)
#   BUILD=dir        link BUILD/libcvb_runner.a and libcvb_common.a instead of
#                    compiling src/runner/validate.c directly (both -O2)
#   KEEP=1           keep the work directory and print its path
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
files=${1:-2000}
repeat=${REPEAT:-3}
bandit_repeat=${BANDIT_REPEAT:-1}
py=/usr/bin/python3.11
work=$(mktemp -d "${TMPDIR:-/tmp}/cvb-validate-bench.XXXXXX")

cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		echo "work directory kept: $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

command -v bandit >/dev/null || { echo "validate_bench: bandit is not installed" >&2; exit 2; }

# The driver: one embedded interpreter, the validator, -O2.
home=$("$py" -I -c 'import sys; print(sys.prefix)')
cflags=(-O2 -g -std=gnu17 -D_GNU_SOURCE "-I$root/include" "-DCVB_PYTHON_HOME=\"$home\"")
if [ -n "${BUILD:-}" ]; then
	objs=("$BUILD/libcvb_runner.a" "$BUILD/libcvb_common.a")
	libs=$(pkg-config --cflags --libs python-3.11-embed jansson libseccomp)
else
	objs=("$root/src/runner/validate.c")
	libs=$(pkg-config --cflags --libs python-3.11-embed jansson)
fi
# shellcheck disable=SC2086 # pkg-config output is a word list
cc "${cflags[@]}" "$root/bench/validate/validate_files.c" "${objs[@]}" $libs \
	-o "$work/validate_files"

# The corpus.
"$py" -I "$root/bench/validate/make_corpus.py" "$root/tests/corpus/honest" \
	"$root/tests/corpus/validator" "$work/corpus" "$files"
find "$work/corpus" -name '*.py' | sort >"$work/list"

# Wall time of a command, in seconds (bash 5's EPOCHREALTIME).
wall() {
	local start=$EPOCHREALTIME
	"$@" >/dev/null 2>&1 || true # both tools exit non-zero when they find something
	awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }'
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

echo "validate_bench: $files files; validator x$repeat, bandit x$bandit_repeat" >&2
# Warm the page cache for both tools alike.
cat "$work/list" | xargs cat >/dev/null

loop_times=()
wall_times=()
for _ in $(seq "$repeat"); do
	start=$EPOCHREALTIME
	line=$("$work/validate_files" --list "$work/list") || true
	wall_times+=("$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }')")
	loop_times+=("$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$line")")
done
bandit_times=()
for _ in $(seq "$bandit_repeat"); do
	bandit_times+=("$(wall bandit -q -f json -o "$work/bandit.json" -r "$work/corpus")")
done

# Findings, outside the timed runs.
"$work/validate_files" --print --list "$work/list" >"$work/validator.out" || true

"$py" -I "$root/bench/validate/summarize.py" "$work" \
	"$(printf '%s\n' "${loop_times[@]}" | median)" \
	"$(printf '%s\n' "${wall_times[@]}" | median)" \
	"$(printf '%s\n' "${bandit_times[@]}" | median)"
