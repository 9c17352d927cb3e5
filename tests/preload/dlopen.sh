#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# dlopen.sh - libraries loaded at run time (tests/dlopen/, built into
# BUILD_DIR/tests/dlopen/ by mk/dlopen.mk):
#   1. host dlopen()s libplugin.so three times and trades blocks with it
#      both ways (malloc here, realloc/free there and back, aligned blocks,
#      a plugin thread's blocks, blocks the plugin frees at dlclose()):
#      under LD_PRELOAD=libhakmem.so the same stdout as without, every
#      block hakmem's (hak_owns), and hakmem's stats line on stderr;
#   2. load_hakmem dlopen()s libhakmem.so itself (initial-exec TLS, so from
#      glibc's static TLS surplus) and uses it through hak_* from threads
#      made before and after the dlopen().  With a NODELETE library it
#      also dlclose()s it under a live thread that has used it; without
#      NODELETE that would crash at that thread's exit (README: Using
#      hakmem), so it is only reported.
#
#   tests/preload/dlopen.sh BUILD_DIR     exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init dlopen "${1:-}"
dir=$PL_BUILD/tests/dlopen
for f in host load_hakmem libplugin.so; do
	[ -f "$dir/$f" ] || pl_fail "$dir/$f not built (make tests)"
done

pl_compare plugin -- "$dir/host" "$dir/libplugin.so"
grep '^host: hak_owns' "$PL_TMP/plugin.hakmem.err" | sed "s/^/$PL_NAME: /"
pl_figures plugin -- "$dir/host" "$dir/libplugin.so"

args=()
if readelf -d "$PL_LIB" 2>/dev/null | grep -q 'Flags:.*NODELETE'; then
	args=(--dlclose)
else
	echo "$PL_NAME: $PL_LIB is not NODELETE: dlclose() under live" \
		"threads not tried (it would crash them at exit)"
fi
rc=0
pl_timeout env -u LD_PRELOAD "$dir/load_hakmem" "$PL_LIB" ${args[@]+"${args[@]}"} \
	>"$PL_TMP/load.out" 2>&1 || rc=$?
sed "s/^/$PL_NAME: load_hakmem: /" "$PL_TMP/load.out"
[ "$rc" -eq 0 ] || pl_fail "dlopen() of libhakmem.so itself: exit $rc"
pl_pass "blocks cross dlopen()ed libraries; libhakmem.so can be dlopen()ed"
