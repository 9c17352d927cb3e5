#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# compress.sh - Debian's xz and zstd round trips under
# LD_PRELOAD=libhakmem.so: 2 MB of generated text compressed with xz (two
# threads, and single-threaded -7e) and zstd (two threads with a long
# window, and -19 on a slice), decompressed again.  The md5 of every
# compressed stream and of every decompressed result must be the same as
# without hakmem, and hakmem's stats lines must be on stderr.
#
#   tests/preload/compress.sh BUILD_DIR   exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init compress "${1:-}"
pl_need xz-utils zstd
for t in xz zstd md5sum; do
	command -v "$t" >/dev/null || pl_skip "no $t"
done
# compressible but not trivially: numbers, words, a little noise
seq 1 70000 | awk '{ printf "%d %d word%d %s\n", $1, ($1 * $1) % 9973,
	$1 % 317, substr("lorem ipsum dolor sit amet", 1 + $1 % 7, 5 + $1 % 13) }' \
	>"$PL_TMP/data"
head -c 400000 "$PL_TMP/data" >"$PL_TMP/slice"

# shellcheck disable=SC2016
run='d=$(mktemp -d "$T/c.XXXXXX") && cd "$d" && set -o pipefail &&
	md5sum <../data &&
	xz -T2 -6 -c ../data >a.xz && md5sum <a.xz && xz -T2 -dc a.xz | md5sum &&
	xz -T1 -7e -c ../slice >b.xz && md5sum <b.xz && xz -dc b.xz | md5sum &&
	zstd -q -T2 -12 --long=24 -c ../data >a.zst && md5sum <a.zst &&
	zstd -q -d --long=24 -c a.zst | md5sum &&
	zstd -q -19 -c ../slice >b.zst && md5sum <b.zst &&
	zstd -q -dc b.zst | md5sum'
pl_compare roundtrip T="$PL_TMP" -- bash -c "$run; exit \$?"
pl_figures roundtrip T="$PL_TMP" -- bash -c "$run; exit \$?"
pl_pass "xz and zstd give the same output under hakmem"
