#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# python.sh - python3 running tests/preload/alloc_heavy.py (threads, dicts,
# lists, strings, json round trips, queue hand-offs) under
# LD_PRELOAD=libhakmem.so: same stdout as without, and hakmem's stats line
# on stderr.  Run twice: with pymalloc (only its arenas and big objects
# reach malloc) and with PYTHONMALLOC=malloc (every object does).
#
#   tests/preload/python.sh BUILD_DIR     exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init python "${1:-}"
command -v python3 >/dev/null || pl_skip "no python3"
# the interpreter itself, not a wrapper script (pyenv shims and the like)
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
	pl_skip "python3 does not run"
[ -x "$py" ] || py=$(command -v python3)
script=$(dirname "$0")/alloc_heavy.py

pl_compare pymalloc PYTHONHASHSEED=0 -- "$py" -I "$script"
pl_compare malloc PYTHONHASHSEED=0 PYTHONMALLOC=malloc -- "$py" -I "$script"
pl_pass "python3 gives the same output under hakmem"
