#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# cxx.sh - BUILD_DIR/tests/preload/cxx_threads (C++17 containers, strings
# and shared_ptrs handed between four threads) under LD_PRELOAD=libhakmem.so:
# same stdout as without, and hakmem's stats line on stderr.
#
#   tests/preload/cxx.sh BUILD_DIR        exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init cxx "${1:-}"
prog=$PL_BUILD/tests/preload/cxx_threads
[ -x "$prog" ] || pl_fail "$prog not built (make tests)"

pl_compare cxx_threads -- "$prog"
# a second, smaller run with a different batch count: other sizes, fewer
# hand-offs, and an exit while little is cached
pl_compare cxx_threads_small -- "$prog" 37
pl_figures cxx_threads -- "$prog"
pl_pass "C++ threads give the same output under hakmem"
