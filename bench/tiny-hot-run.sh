#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tiny-hot-run.sh - tiny_hot under hakmem, glibc and mimalloc, one table.
#
#   bench/tiny-hot-run.sh BUILD_DIR            (make bench-tiny-hot)
#
# For each size in $TINY_HOT_SIZES (default "16 64 256") runs
# BUILD_DIR/bench/tiny_hot SIZE $TINY_HOT_ITERS (default 20000000) under
#   hakmem    LD_PRELOAD=BUILD_DIR/libhakmem.so; tiny_hot must report
#             hakmem=1, else this script fails.  (Not HAKMEM_STATS=1: it
#             counts every call in the slow path.)
#   glibc     no preload
#   mimalloc  LD_PRELOAD of Debian's libmimalloc2.0 (installed with apt-get
#             when missing and we are root; skipped with a note otherwise)
# and prints ns per malloc/free pair for both patterns (lifo, ring64).  The
# ratio column is hakmem's time over mimalloc's (lower is better).
# Exit status: 0, or 1 when a hakmem run fails or cannot be proven.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
build=$1
prog=$build/bench/tiny_hot
lib=$build/libhakmem.so
read -r -a sizes <<<"${TINY_HOT_SIZES:-16 64 256}"
iters=${TINY_HOT_ITERS:-20000000}

for f in "$prog" "$lib"; do
	if [ ! -e "$f" ]; then
		echo "tiny-hot-run: $f missing (make benches FLAVOUR=...)" >&2
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
		echo "tiny-hot-run: installing libmimalloc2.0" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q libmimalloc2.0 >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 &&
				apt-get install -y -q libmimalloc2.0 >/dev/null 2>&1; } ||
			echo "tiny-hot-run: apt-get could not install libmimalloc2.0" >&2
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

status=0
names=(hakmem glibc)
mi=$(find_mimalloc)
if [ -n "$mi" ]; then
	names+=(mimalloc)
else
	echo "tiny-hot-run: mimalloc not available; no mimalloc column" >&2
fi

for size in "${sizes[@]}"; do
	for n in "${names[@]}"; do
		out=$tmp/$n.$size.out
		err=$tmp/$n.$size.err
		case $n in
		hakmem) envs=(LD_PRELOAD="$lib") ;;
		glibc) envs=() ;;
		mimalloc) envs=(LD_PRELOAD="$mi") ;;
		esac
		if ! env ${envs[@]+"${envs[@]}"} "$prog" "$size" "$iters" \
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
printf ' %9s' "${names[@]}"
printf ' %12s\n' hak/mimalloc
for size in "${sizes[@]}"; do
	for pat in lifo ring64; do
		printf '%6s %-7s' "$size" "$pat"
		for n in "${names[@]}"; do
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
