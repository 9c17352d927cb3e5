#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tiny-hot-run.sh - tiny_hot under hakmem, glibc and mimalloc, one table.
#
#   bench/tiny-hot-run.sh BUILD_DIR            (make bench-tiny-hot)
#
# For each size in $TINY_HOT_SIZES (default "16 64 256") runs
# BUILD_DIR/bench/tiny_hot SIZE $TINY_HOT_ITERS (default 20000000) under
# hakmem, glibc and mimalloc (bench/common.bash); under hakmem, tiny_hot must
# report hakmem=1, else this script fails.  (Not HAKMEM_STATS=1: it counts
# every call in the slow path.)  It prints ns per malloc/free pair for both
# patterns (lifo, ring64).  The ratio column is hakmem's time over
# mimalloc's (lower is better).
# Exit status: 0, or 1 when a hakmem run fails or cannot be proven.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
read -r -a sizes <<<"${TINY_HOT_SIZES:-16 64 256}"
iters=${TINY_HOT_ITERS:-20000000}
br_init tiny-hot-run "$1" tiny_hot
prog=$BR_PROG
tmp=$BR_TMP
status=0

for size in "${sizes[@]}"; do
	for n in "${BR_NAMES[@]}"; do
		out=$tmp/$n.$size.out
		err=$tmp/$n.$size.err
		br_env "$n"
		if ! env ${BR_ENV[@]+"${BR_ENV[@]}"} "$prog" "$size" "$iters" \
			>"$out" 2>"$err"; then
			echo "tiny-hot-run: $n, size $size: tiny_hot failed:" >&2
			cat "$err" >&2
			[ "$n" = hakmem ] && status=1
			continue
		fi
		[ "$n" = hakmem ] || continue
		if ! grep -q ' hakmem=1$' "$out"; then
			echo "tiny-hot-run: FAIL: size $size: hak_owns() did not" \
				"claim tiny_hot's blocks" >&2
			status=1
		fi
	done
done

# ns SIZE NAME PATTERN - ns_per_pair from that run, or "-".
ns() {
	local v=
	[ -s "$tmp/$2.$1.out" ] && v=$(sed -n \
		"s/^tiny_hot: size=$1 pattern=$3 ns_per_pair=\\([0-9.]*\\).*/\\1/p" \
		"$tmp/$2.$1.out")
	echo "${v:--}"
}

echo
echo "tiny_hot SIZE $iters: ns per malloc+free pair ($(nproc) cpus)"
printf '%6s %-7s' size pattern
printf ' %9s' "${BR_NAMES[@]}"
printf ' %12s\n' hak/mimalloc
for size in "${sizes[@]}"; do
	for pat in lifo ring64; do
		printf '%6s %-7s' "$size" "$pat"
		for n in "${BR_NAMES[@]}"; do
			printf ' %9s' "$(ns "$size" "$n" "$pat")"
		done
		ratio=$(awk -v a="$(ns "$size" hakmem "$pat")" \
			-v b="$(ns "$size" mimalloc "$pat")" \
			'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b;
				 else print "n/a" }')
		printf ' %12s\n' "$ratio"
	done
done
exit "$status"
