#!/bin/sh
# Compares `convbox policy ARGS` with a golden file; a policy change shows as this diff.
# usage: golden_test.sh CONVBOX GOLDEN [ARGS...]   (CVB_UPDATE_GOLDEN=1 rewrites the file)
set -eu
convbox=$1
golden=$2
shift 2
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
"$convbox" policy "$@" >"$actual"
if [ "${CVB_UPDATE_GOLDEN:-0}" = 1 ]; then
	cp "$actual" "$golden"
	exit 0
fi
diff -u "$golden" "$actual"
