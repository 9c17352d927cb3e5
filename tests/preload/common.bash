# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# common.bash - sourced by tests/preload/*.sh (not a test itself: run.sh
# runs only *.sh).  Each test runs a real program twice, plainly and under
# LD_PRELOAD=BUILD_DIR/libhakmem.so HAKMEM_STATS=1, and requires the same
# stdout from both, a zero exit status from both, and hakmem's `hakmem:`
# stats line on the preloaded run's stderr (proof that hakmem served it).
#
# Exit status of a test: 0 pass, 1 fail, 77 skip, always with a reason line.
# PRELOAD_TIMEOUT (seconds, default 120) bounds each run of a program.

T_PASS=0
T_FAIL=1
T_SKIP=77

# pl_pass/pl_fail/pl_skip REASON... - print "NAME: RESULT: reason" and exit.
pl_pass() { echo "$PL_NAME: PASS: $*"; exit "$T_PASS"; }
pl_fail() { echo "$PL_NAME: FAIL: $*" >&2; exit "$T_FAIL"; }
pl_skip() { echo "$PL_NAME: SKIP: $*"; exit "$T_SKIP"; }

# pl_init NAME BUILD_DIR - check the library, make $PL_TMP (removed at exit).
# Sets PL_NAME, PL_BUILD, PL_LIB.
pl_init() {
	PL_NAME=$1
	PL_BUILD=${2:-}
	[ -n "$PL_BUILD" ] || pl_fail "usage: $PL_NAME.sh BUILD_DIR"
	[ -f "$PL_BUILD/libhakmem.so" ] ||
		pl_fail "$PL_BUILD/libhakmem.so not built"
	PL_LIB=$(cd "$PL_BUILD" && pwd)/libhakmem.so
	# A sanitizer runtime must come first in the process; it cannot be
	# preloaded into an ordinary program behind hakmem.
	if command -v ldd >/dev/null &&
		ldd "$PL_LIB" 2>/dev/null | grep -Eq 'lib(a|t|hwa|m)san\.so'; then
		pl_skip "$PL_LIB links a sanitizer runtime; not preloadable"
	fi
	PL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-$PL_NAME.XXXXXX") ||
		pl_fail "mktemp failed"
	trap 'rm -rf "$PL_TMP"' EXIT
}

# pl_timeout CMD... - run CMD under timeout(1) when there is one.
pl_timeout() {
	if command -v timeout >/dev/null; then
		timeout -k 10 "${PRELOAD_TIMEOUT:-120}" "$@"
	else
		"$@"
	fi
}

# pl_compare LABEL [VAR=VALUE...] -- CMD... - run CMD plainly and under
# hakmem (each with the given extra environment), compare stdout, check the
# stats line.  Fails the test on any difference.
pl_compare() {
	local label=$1 envs=() plain pre rc
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	plain=$PL_TMP/$label.plain
	pre=$PL_TMP/$label.hakmem

	rc=0
	pl_timeout env -u LD_PRELOAD ${envs[@]+"${envs[@]}"} "$@" \
		>"$plain.out" 2>"$plain.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		head -n 20 "$plain.err" >&2
		pl_fail "$label: exit status $rc without hakmem (test bug?)"
	fi

	rc=0
	pl_timeout env ${envs[@]+"${envs[@]}"} LD_PRELOAD="$PL_LIB" \
		HAKMEM_STATS=1 "$@" >"$pre.out" 2>"$pre.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		head -n 20 "$pre.err" >&2
		[ "$rc" -eq 124 ] && pl_fail "$label: timed out under hakmem"
		pl_fail "$label: exit status $rc under hakmem"
	fi
	if ! cmp -s "$plain.out" "$pre.out"; then
		diff -u "$plain.out" "$pre.out" | head -n 20 >&2 || true
		pl_fail "$label: output differs under hakmem"
	fi
	if ! grep -q '^hakmem:' "$pre.err"; then
		head -n 20 "$pre.err" >&2
		pl_fail "$label: no 'hakmem:' stats line; hakmem did not serve it"
	fi
	echo "$PL_NAME: $label: same output ($(wc -c <"$pre.out") bytes)," \
		"$(grep -c '^hakmem:' "$pre.err") hakmem stats line(s)"
}
