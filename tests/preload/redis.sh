#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# redis.sh - Debian's redis-server, loaded through redis-cli --pipe and
# driven by redis-benchmark (bounded request counts, 127.0.0.1 only, never
# port 6379; tests/preload/redis-work.bash), under LD_PRELOAD=libhakmem.so:
# the same replies and DEBUG DIGEST as under glibc, and the server's own
# hakmem stats line.  Debian links redis-server with libjemalloc, so the
# glibc run preloads the C library itself (as bench/redis_bench.py does);
# under hakmem, hakmem's malloc comes before both.
#
#   tests/preload/redis.sh BUILD_DIR      exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init redis "${1:-}"
pl_need redis-server redis-tools
for t in redis-server redis-cli redis-benchmark; do
	command -v "$t" >/dev/null || pl_skip "no $t"
done
PL_GLIBC_PRELOAD=$(ldd "$(command -v redis-server)" |
	awk '$1 == "libc.so.6" { print $3 }')
[ -f "$PL_GLIBC_PRELOAD" ] || pl_fail "cannot find redis-server's libc.so.6"
work=$(cd "$(dirname "$0")" && pwd)/redis-work.bash

# shellcheck disable=SC2016
run='d=$(mktemp -d "$T/redis.XXXXXX") && bash "$W" "$d"'
pl_compare server T="$PL_TMP" W="$work" -- bash -c "$run; exit \$?"
pl_figures server T="$PL_TMP" W="$work" -- bash -c "$run; exit \$?"
pl_pass "redis-server gives the same replies under hakmem"
