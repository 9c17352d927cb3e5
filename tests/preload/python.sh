#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# python.sh - python3 running tests/preload/alloc_heavy.py (threads, dicts,
# lists, strings, json round trips, queue hand-offs) under
# LD_PRELOAD=libhakmem.so: same stdout as without, and hakmem's stats line
# on stderr.  Run twice: with pymalloc (only its arenas and big objects
# reach malloc) and with PYTHONMALLOC=malloc (every object does).  Then
# Debian's python3 runs a few of CPython's own test modules
# (libpython3.X-testsuite, installed when missing and root;
# tests/preload/py_stdlib.py prints a summary without timings).
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
pl_figures alloc_heavy PYTHONHASHSEED=0 -- "$py" -I "$script"
pl_figures alloc_heavy_malloc PYTHONHASHSEED=0 PYTHONMALLOC=malloc -- \
	"$py" -I "$script"

# CPython's own tests: small, fast and stable modules (a few seconds each
# at most; the threading ones that mostly sleep are left out).
deb=/usr/bin/python3
[ -x "$deb" ] || pl_skip "no $deb for the stdlib tests (the rest passed)"
ver=$("$deb" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pl_need "libpython$ver-testsuite"
"$deb" -I -c 'import test.test_json' 2>/dev/null ||
	pl_skip "$deb cannot import test.test_json (the rest passed)"
modules=(test_json test_re test_collections test_dict test_list
	test_sort test_heapq test_deque test_struct test_thread
	test_threading_local test_threading.ThreadTests
	test_threading.ThreadJoinOnShutdown)
pl_compare stdlib PYTHONHASHSEED=0 -- "$deb" -I "$(dirname "$0")/py_stdlib.py" \
	"${modules[@]}"
pl_pass "python3 gives the same output under hakmem" \
	"(and ${#modules[@]} stdlib test modules pass)"
