#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# launcher.sh - the hakmem(1) launcher of the build tree (BUILD_DIR/hakmem,
# made from tools/hakmem.in), which preloads the library beside it:
#   1. --version names the Makefile's HAK_VERSION and that library, and
#      the preloaded library's hak_version() says the same;
#   2. --stats: the program's stdout as without hakmem, the stats line on
#      stderr; the program's exit status comes back (7, and 0);
#   3. --profile FILE --profile-interval BYTES: the profile is written;
#   4. LD_PRELOAD keeps what was in it, after hakmem;
#   5. errors: a missing program (127, "command not found"), a missing
#      library (127, "no such library"), a bad option (2).
#
#   tests/preload/launcher.sh BUILD_DIR    exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init launcher "${1:-}"
hk=$PL_BUILD/hakmem
[ -x "$hk" ] || pl_fail "$hk not built (make)"
src=$(cd "$(dirname "$0")/../.." && pwd)
want=$(sed -n 's/^HAK_VERSION := //p' "$src/Makefile")
[ -n "$want" ] || pl_fail "no HAK_VERSION line in the Makefile"

# expect STATUS LABEL CMD... - CMD exits with STATUS; output in $PL_TMP/out
expect() {
	local want_rc=$1 label=$2 rc=0
	shift 2
	pl_timeout "$@" >"$PL_TMP/out" 2>&1 || rc=$?
	[ "$rc" -eq "$want_rc" ] ||
		{ cat "$PL_TMP/out" >&2; pl_fail "$label: exit $rc, not $want_rc"; }
}

expect 0 --version "$hk" --version
grep -qx "hakmem $want" "$PL_TMP/out" ||
	{ cat "$PL_TMP/out" >&2; pl_fail "--version does not say hakmem $want"; }
grep -qx "library: $PL_LIB.0" "$PL_TMP/out" ||
	{ cat "$PL_TMP/out" >&2; pl_fail "--version does not name $PL_LIB.0"; }
expect 0 hak_version "$hk" "$PL_BUILD/tests/preload/version"
grep -qx "hakmem $want" "$PL_TMP/out" ||
	{ cat "$PL_TMP/out" >&2; pl_fail "hak_version() does not say $want"; }
echo "$PL_NAME: --version and hak_version(): $want"

pl_compare stats -- "$hk" --stats "$PL_BUILD/tests/preload/profile_sites"
expect 7 status "$hk" sh -c 'exit 7'
expect 0 status "$hk" -- true
echo "$PL_NAME: exit status passed through (7, 0)"

rm -f "$PL_TMP/l.heap"
expect 0 --profile "$hk" --profile "$PL_TMP/l.heap" --profile-interval 4096 \
	"$PL_BUILD/tests/preload/profile_sites"
grep -q '^heap profile: .*heap_v2/4096$' "$PL_TMP/l.heap" ||
	pl_fail "--profile: no profile with interval 4096 written"
echo "$PL_NAME: --profile: $(head -n 1 "$PL_TMP/l.heap")"

# shellcheck disable=SC2016 # the child's $LD_PRELOAD
expect 0 LD_PRELOAD env LD_PRELOAD=/lib/nothing.so "$hk" sh -c 'echo "$LD_PRELOAD"'
grep -qx "$PL_LIB.0 /lib/nothing.so" "$PL_TMP/out" ||
	{ cat "$PL_TMP/out" >&2; pl_fail "LD_PRELOAD not $PL_LIB.0 then the old one"; }

expect 127 "missing program" "$hk" hakmem-no-such-program
grep -q 'hakmem-no-such-program: command not found' "$PL_TMP/out" ||
	{ cat "$PL_TMP/out" >&2; pl_fail "missing program: no clear error"; }
expect 127 "missing program path" "$hk" ./no/such/program
# a copy away from the build tree, its library directory made missing
sed "s|^libdir=.*|libdir='$PL_TMP/nolib'|" "$hk" >"$PL_TMP/hakmem"
chmod +x "$PL_TMP/hakmem"
expect 127 "missing library" "$PL_TMP/hakmem" true
grep -q "$PL_TMP/nolib/libhakmem.so.0: no such library" "$PL_TMP/out" ||
	{ cat "$PL_TMP/out" >&2; pl_fail "missing library: no clear error"; }
expect 2 "bad option" "$hk" --bogus true
expect 2 "no program" "$hk" --stats
expect 2 "bad interval" "$hk" --profile-interval 12k true
echo "$PL_NAME: errors: missing program and library 127, usage 2"
pl_pass "version, stats, status, profile, LD_PRELOAD, errors"
