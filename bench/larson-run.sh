#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# larson-run.sh - Larson under hakmem, glibc and mimalloc, one table.
#
#   bench/larson-run.sh BUILD_DIR THREADS      (make larson-run THREADS=N)
#
# Runs BUILD_DIR/bench/larson with the standard setting scaled to a small
# machine:  larson $LARSON_SECONDS 8 1000 5000 100 4141 THREADS
# (mimalloc-bench's setting; LARSON_SECONDS defaults to 5) three times:
#   hakmem    LD_PRELOAD=BUILD_DIR/libhakmem.so; larson must report
#             hakmem=1 (hak_owns claimed its blocks), else this script fails.
#             (Not HAKMEM_STATS=1: it counts every call in the slow path.)
#   glibc     no preload
#   mimalloc  LD_PRELOAD of Debian's libmimalloc2.0 (installed with apt-get
#             when missing and we are root; skipped with a note otherwise)
# The ratio column is ops/s relative to mimalloc (higher is better).
# LARSON_ARGS="5 8 1000 5000 100 4141" overrides all but THREADS.
# LARSON_REPS=N (default 1) runs the three N times, interleaved, and reports
# the median ops/s of each (the max peak RSS): steadier on a busy machine.
# Exit status: 0, or 1 when hakmem's run fails or cannot be proven.
set -euo pipefail

usage() {
	echo "usage: $0 BUILD_DIR THREADS" >&2
	exit 2
}

[ $# -eq 2 ] || usage
build=$1
threads=$2
case $threads in '' | *[!0-9]*) usage ;; esac

larson=$build/bench/larson
lib=$build/libhakmem.so
seconds=${LARSON_SECONDS:-5}
reps=${LARSON_REPS:-1}
case $reps in '' | *[!0-9]* | 0) usage ;; esac
read -r -a args <<<"${LARSON_ARGS:-$seconds 8 1000 5000 100 4141}"
args+=("$threads")

for f in "$larson" "$lib"; do
	if [ ! -e "$f" ]; then
		echo "larson-run: $f missing (make benches FLAVOUR=...)" >&2
		exit 1
	fi
done
lib=$(cd "$build" && pwd)/libhakmem.so	# LD_PRELOAD wants no relative path

# find_mimalloc - print the path of libmimalloc.so.2, installing it if needed.
find_mimalloc() {
	local so=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2 f

	if ! dpkg-query -W -f='${Status}' libmimalloc2.0 2>/dev/null |
		grep -q 'install ok installed' &&
		[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "larson-run: installing libmimalloc2.0" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q libmimalloc2.0 >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 &&
				apt-get install -y -q libmimalloc2.0 >/dev/null 2>&1; } ||
			echo "larson-run: apt-get could not install libmimalloc2.0" >&2
	fi
	if command -v dpkg >/dev/null; then
		f=$(dpkg -L libmimalloc2.0 2>/dev/null |
			grep -m1 '/libmimalloc\.so\.[0-9]*$' || true)
		[ -n "$f" ] && so=$f
	fi
	if [ -e "$so" ]; then
		echo "$so"
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

names=(hakmem glibc)
mi=$(find_mimalloc)
if [ -n "$mi" ]; then
	names+=(mimalloc)
else
	echo "larson-run: mimalloc not available; no mimalloc column" >&2
fi

status=0
for ((r = 1; r <= reps; r++)); do
	for n in "${names[@]}"; do
		case $n in
		hakmem) envs=(LD_PRELOAD="$lib") ;;
		glibc) envs=() ;;
		mimalloc) envs=(LD_PRELOAD="$mi") ;;
		esac
		if ! run "$n.$r" ${envs[@]+"${envs[@]}"}; then
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
for n in "${names[@]}"; do
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
