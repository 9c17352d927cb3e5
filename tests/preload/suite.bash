#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# suite.bash BUILD_DIR [NAME...] - `make test-preload`: every
# tests/preload/*.sh (or just the NAMEs given, e.g. `git redis`) against
# BUILD_DIR/libhakmem.so, each under `timeout $TIMEOUT` (default 300 s),
# with PRELOAD_FIGURES=1 so each prints its program's time and peak RSS
# under glibc, hakmem and mimalloc; their output is shown as they run, then
# one table of all figures, then "N passed, N failed, N skipped".
# (tests/run.sh runs the same scripts, quietly, without the figures.)
# Exit status: 1 if any failed or none passed.
set -u
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR [NAME...]" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 2
shift
TIMEOUT=${TIMEOUT:-300}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for s in "$here"/*.sh; do
		names+=("$(basename "$s" .sh)")
	done
fi

figures=$(mktemp "${TMPDIR:-/tmp}/hakmem-figures.XXXXXX") || exit 2
trap 'rm -f "$figures"' EXIT
export PRELOAD_FIGURES=1 PRELOAD_FIGURES_FILE=$figures

passed=0 failed=0 skipped=0 failures=()
for n in "${names[@]}"; do
	s=$here/$n.sh
	if [ ! -f "$s" ]; then
		echo "FAIL  preload/$n  (no such test: $s)"
		failed=$((failed + 1))
		failures+=("$n")
		continue
	fi
	start=$EPOCHREALTIME
	timeout -k 10 "$TIMEOUT" bash "$s" "$build" </dev/null 2>&1 |
		sed 's/^/    /'
	rc=${PIPESTATUS[0]}
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" \
		'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0) echo "PASS  preload/$n  (${secs}s)"; passed=$((passed + 1)) ;;
	77) echo "SKIP  preload/$n  (${secs}s)"; skipped=$((skipped + 1)) ;;
	*)
		[ "$rc" -eq 124 ] && echo "    timed out after ${TIMEOUT}s"
		echo "FAIL  preload/$n  (${secs}s) exit $rc"
		failed=$((failed + 1))
		failures+=("$n")
		;;
	esac
done

if [ -s "$figures" ]; then
	echo
	echo "time and peak RSS (largest process) per program, $(nproc) CPUs," \
		"one run each:"
	{
		printf 'program\tglibc\tRSS\thakmem\tRSS\tmimalloc\tRSS\n'
		cat "$figures"
	} | awk -F '\t' '{ printf "  %-26s %9s %11s %9s %11s %9s %11s\n",
		$1, $2, $3, $4, $5, $6, $7 }'
fi
echo
[ "$failed" -eq 0 ] || echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
