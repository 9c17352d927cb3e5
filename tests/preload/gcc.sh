#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gcc.sh - Debian's gcc (driver, cc1, as, collect2, ld: every process under
# LD_PRELOAD=libhakmem.so) compiling a generated 15000-line C file
# (tests/preload/gen-c.awk) with -O2, then assembling, linking and running
# it: the same assembly (md5), the same program output as without hakmem,
# and hakmem's stats lines on stderr.
#
#   tests/preload/gcc.sh BUILD_DIR        exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init gcc "${1:-}"
pl_need gcc
command -v gcc >/dev/null || pl_skip "no gcc"
awk -v n=150 -f "$(dirname "$0")/gen-c.awk" >"$PL_TMP/gen.c"

# one fresh directory per run; the source stays at the same path, so the
# assembly (which names it) is comparable
# shellcheck disable=SC2016
run='d=$(mktemp -d "$T/gcc.XXXXXX") && cd "$d" &&
	gcc -O2 -Wall -S -o gen.s "$T/gen.c" && md5sum <gen.s &&
	gcc -o gen gen.s && ./gen'
pl_compare compile T="$PL_TMP" -- bash -c "$run; exit \$?"
pl_figures compile T="$PL_TMP" -- bash -c "$run; exit \$?"
pl_pass "gcc gives the same output under hakmem"
