#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# larson-run.sh - Larson under hakmem, glibc and mimalloc, one table.
#
#   bench/larson-run.sh BUILD_DIR THREADS      (make larson-run THREADS=N)
#
# Runs BUILD_DIR/bench/larson with the standard setting scaled to a small
# machine:  larson $LARSON_SECONDS 8 1000 5000 100 4141 THREADS
# (mimalloc-bench's setting; LARSON_SECONDS defaults to 5) under hakmem,
# glibc and mimalloc (bench/common.bash).  Under hakmem, larson must report
# hakmem=1 (hak_owns claimed its blocks), else this script fails.  (Not
# HAKMEM_STATS=1: it counts every call in the slow path.)
# The ratio column is ops/s relative to mimalloc (higher is better).
# LARSON_ARGS="5 8 1000 5000 100 4141" overrides all but THREADS.
# LARSON_REPS=N (default 1) runs the three N times, interleaved, and reports
# the median ops/s of each (the max peak RSS): steadier on a busy machine.
# Exit status: 0, or 1 when hakmem's run fails or cannot be proven.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

usage() {
	echo "usage: $0 BUILD_DIR THREADS" >&2
	exit 2
}

[ $# -eq 2 ] || usage
build=$1
threads=$2
case $threads in '' | *[!0-9]*) usage ;; esac

seconds=${LARSON_SECONDS:-5}
reps=${LARSON_REPS:-1}
case $reps in '' | *[!0-9]* | 0) usage ;; esac
read -r -a args <<<"${LARSON_ARGS:-$seconds 8 1000 5000 100 4141}"
args+=("$threads")

br_init larson-run "$build" larson
larson=$BR_PROG
tmp=$BR_TMP

# run NAME [VAR=VALUE...] - run larson with that environment; output in
# $tmp/NAME.out and $tmp/NAME.err; the status is larson's.
run() {
	local name=$1
	shift
	echo "larson-run: $name: larson ${args[*]}" >&2
	env "$@" "$larson" "${args[@]}" >"$tmp/$name.out" 2>"$tmp/$name.err"
}

# field FILE KEY - the value of KEY=... on larson's result line in FILE.
field() {
	sed -n "s/^larson: .*[[:space:]]$2=\\([^[:space:]]*\\).*/\\1/p" "$1" |
		sed -n 1p
}

# summary NAME KEY median|max - over the runs of NAME that gave a result.
summary() {
	local f
	for f in "$tmp/$1".*.out; do
		if [ -s "$f" ]; then
			field "$f" "$2"
		fi
	done | sort -n | awk -v how="$3" '{ v[NR] = $1 }
		END { if (NR) print how == "max" ? v[NR] : v[int((NR + 1) / 2)] }'
}

status=0
for ((r = 1; r <= reps; r++)); do
	for n in "${BR_NAMES[@]}"; do
		br_env "$n"
		if ! run "$n.$r" ${BR_ENV[@]+"${BR_ENV[@]}"}; then
			echo "larson-run: larson under $n failed:" >&2
			cat "$tmp/$n.$r.err" >&2
			rm -f "$tmp/$n.$r.out"
			[ "$n" = hakmem ] && status=1
			continue
		fi
		[ "$n" = hakmem ] || continue
		if [ "$(field "$tmp/$n.$r.out" hakmem)" != 1 ]; then
			echo "larson-run: FAIL: hak_owns() did not claim" \
				"larson's blocks; hakmem did not serve this run" >&2
			status=1
		fi
	done
done

mi_ops=$(summary mimalloc ops_per_sec median)

echo
echo "larson ${args[*]} ($(nproc) cpus; median of $reps run(s), peak RSS max)"
printf '%-10s %14s %14s %10s\n' allocator ops/s rss_peak_kb vs_mimalloc
for n in "${BR_NAMES[@]}"; do
	ops=$(summary "$n" ops_per_sec median)
	rss=$(summary "$n" rss_peak_kb max)
	[ -n "$ops" ] || continue
	ratio=$(awk -v a="$ops" -v b="$mi_ops" \
		'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	label=$n
	# a hakmem run that failed its proof was somebody else's malloc
	[ "$n" = hakmem ] && [ "$status" -ne 0 ] && label='hakmem(?)'
	printf '%-10s %14s %14s %10s\n' "$label" "$ops" "$rss" "$ratio"
done
exit "$status"
