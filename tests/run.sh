#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/run.sh BUILD_DIR... - run every test of each build directory.
#
# For each BUILD_DIR (e.g. build/release; its last component names the
# flavour) run every executable BUILD_DIR/tests/**/*.t in sorted order, then
# the flavour's negative tests (tests/negative/expect.sh BUILD_DIR PROGRAM,
# one per program mk/flavours.mk lists for the flavour: each passes only if
# the flavour's tool reports its bug), then every tests/preload/*.sh with
# BUILD_DIR (made absolute) as $1.  Each test
# runs under `timeout $TIMEOUT` (default 300 s).  Exit status 0 is a pass,
# 77 a skip, anything else a failure (124: timed out).
#
# One line per test:  PASS|FAIL|SKIP  <flavour>/<name>  (<seconds>s)
# then, for a failure, the last $TAIL lines (default 30) of its output, and
# as the last line "N passed, N failed, N skipped".  Exits non-zero if
# anything failed, or if nothing passed (no tests found, or all skipped).
#
# Environment: TIMEOUT (seconds), TAIL (lines shown for a failure),
# SMOKE=1 (pass --smoke to every *.t), VERBOSE=1 (show all output).
#
# How a flavour runs its *.t (environment, runner such as valgrind, --smoke)
# and which negative tests it runs, and whether its libhakmem.so preloads
# into the plain programs of tests/preload/: the flavour's row in
# mk/flavours.mk, read from BUILD_DIR/flavour.env (tests/flavour.bash).
# A test whose runner is not installed is skipped with that reason.
# failfast runs its stress/*.t once more with HAKMEM_TRACE_RING=0, named
# failfast/ring-off/stress/<name>: the ring (on by default in failfast)
# sends every call down the slow path, so without this run no failfast
# check sees the fast paths.
# A SKIP line carries the test's last line of output: its reason.
#
# tests/known-failures lists "<flavour>/<test>[@<cc>]  reason" lines: bugs
# a flavour found that are not fixed yet (@clang: only when the build
# directory was built by a compiler whose name contains "clang").  Such a
# test still runs; a failure is reported as SKIP with "KNOWN FAILURE:
# reason", a pass as PASS with a reminder to delete the line (unless the
# reason starts with "intermittent").  KNOWN_FAILURES=0 ignores the list.

set -u
export LC_ALL=C		# a '.' in $EPOCHREALTIME, plain sort order

TIMEOUT=${TIMEOUT:-300}
TAIL=${TAIL:-30}
SMOKE=${SMOKE:-0}
VERBOSE=${VERBOSE:-0}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/flavour.bash
. "$here/flavour.bash"
passed=0
failed=0
skipped=0
failures=()

if [ $# -eq 0 ]; then
	echo "usage: $0 BUILD_DIR..." >&2
	exit 2
fi
case $TIMEOUT in
'' | *[!0-9]*)
	echo "$0: TIMEOUT must be a number of seconds, not '$TIMEOUT'" >&2
	exit 2
	;;
esac

# known[flavour/test] = why it fails today (tests/known-failures)
declare -A known=()
if [ "${KNOWN_FAILURES:-1}" != 0 ] && [ -f "$here/known-failures" ]; then
	while read -r kname kwhy; do
		case $kname in '' | '#'*) continue ;; esac
		known[$kname]=$kwhy
	done <"$here/known-failures"
fi
known_hit=()

log=$(mktemp "${TMPDIR:-/tmp}/hakmem-test.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT TERM

# elapsed START - seconds since START (an $EPOCHREALTIME), one decimal
elapsed() {
	local now=$EPOCHREALTIME
	awk -v a="$1" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}

# report STATUS NAME SECONDS - the summary line, the counters, the tail
report() {
	local status=$1 name=$2 secs=$3 why=${4:-}

	printf '%s  %s  (%ss)%s\n' "$status" "$name" "$secs" "$why"
	case $status in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	FAIL)
		failed=$((failed + 1))
		failures+=("$name")
		if [ "$VERBOSE" != 1 ] && [ -s "$log" ]; then
			echo "---- last $TAIL lines of $name ----"
			tail -n "$TAIL" "$log"
			echo "----"
		fi
		;;
	esac
}

# run NAME CMD... - run one test under the timeout and report it
run() {
	local name=$1 start rc why=''
	shift

	start=$EPOCHREALTIME
	if [ "$VERBOSE" = 1 ]; then
		timeout -k 10 "$TIMEOUT" "$@" </dev/null 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
	else
		timeout -k 10 "$TIMEOUT" "$@" </dev/null >"$log" 2>&1
		rc=$?
	fi
	local key=$name
	[ -n "${known[$name@$cc]+set}" ] && key=$name@$cc
	if [ -n "${known[$key]+set}" ]; then
		case $rc in
		0)
			case ${known[$key]} in
			intermittent*) ;;
			*) why=" (listed in tests/known-failures as $key but passes: delete the line)" ;;
			esac
			;;
		77) ;;
		*)
			known_hit+=("$name")
			report SKIP "$name" "$(elapsed "$start")" \
				" KNOWN FAILURE (exit $rc): ${known[$key]}"
			return
			;;
		esac
	fi
	case $rc in
	0) report PASS "$name" "$(elapsed "$start")" "$why" ;;
	77)
		[ -s "$log" ] && why=" $(tail -n 1 "$log")"
		report SKIP "$name" "$(elapsed "$start")" "$why"
		;;
	*)
		case $rc in
		124 | 137) why=" timed out after ${TIMEOUT}s" ;;
		*) why=" exit $rc" ;;
		esac
		report FAIL "$name" "$(elapsed "$start")" "$why"
		;;
	esac
}

for dir in "$@"; do
	flavour=$(basename "$dir")
	if [ ! -d "$dir" ]; then
		echo "FAIL  $flavour  (0.0s) no such build directory: $dir"
		failed=$((failed + 1))
		failures+=("$dir")
		continue
	fi
	abs=$(cd "$dir" && pwd)
	# the compiler that built it (the Makefile's flags stamp), for
	# compiler-specific known failures
	cc=$(basename "$(cut -d' ' -f1 "$abs/.cflags" 2>/dev/null)")
	case $cc in *clang*) cc=clang ;; *gcc* | cc) cc=gcc ;; esac

	tests=()
	if [ -d "$abs/tests" ]; then
		while IFS= read -r -d '' t; do
			tests+=("$t")
		done < <(find "$abs/tests" -type f -name '*.t' -perm -u+x -print0 |
			sort -z)
	fi
	# how this flavour runs a test: environment, wrapper, arguments
	if ! flavour_load "$abs" 2>"$log"; then
		report FAIL "$flavour" 0.0 " $(cat "$log")"
		continue
	fi
	envs=(${hak_env[@]+"${hak_env[@]}"})
	wrap=(${hak_runner[@]+"${hak_runner[@]}"})
	args=()
	if [ "$SMOKE" = 1 ] || [ "$hak_smoke" = 1 ]; then args=(--smoke); fi
	for t in "${tests[@]}"; do
		name=${t#"$abs/tests/"}
		if [ ${#wrap[@]} -gt 0 ] && ! command -v "${wrap[0]}" >/dev/null; then
			report SKIP "$flavour/${name%.t}" 0.0 \
				" ${wrap[0]} is not installed"
			continue
		fi
		run "$flavour/${name%.t}" env ${envs[@]+"${envs[@]}"} \
			${wrap[@]+"${wrap[@]}"} "$t" ${args[@]+"${args[@]}"}
	done
	if [ "$flavour" = failfast ]; then
		for t in "${tests[@]}"; do
			name=${t#"$abs/tests/"}
			case $name in stress/*) ;; *) continue ;; esac
			run "$flavour/ring-off/${name%.t}" env HAKMEM_TRACE_RING=0 \
				"$t" ${args[@]+"${args[@]}"}
		done
	fi

	# the flavour's negative tests: each must be reported by its tool
	for n in ${hak_negative[@]+"${hak_negative[@]}"}; do
		run "$flavour/negative/$n" bash "$here/negative/expect.sh" \
			"$abs" "$n"
	done

	for s in "$here"/preload/*.sh; do
		[ -f "$s" ] || continue
		name=$(basename "$s" .sh)
		if [ "$hak_preloadable" != 1 ]; then
			# e.g. a sanitizer runtime that must come first in
			# the process: not into bash or python behind hakmem
			report SKIP "$flavour/preload/$name" 0.0 \
				" $flavour's libhakmem.so needs an instrumented program"
			continue
		fi
		run "$flavour/preload/$name" bash "$s" "$abs"
	done
done

status=0
if [ ${#known_hit[@]} -ne 0 ]; then
	echo "known failures (tests/known-failures, not counted as failed): ${known_hit[*]}"
fi
if [ "$failed" -ne 0 ]; then
	echo "failed: ${failures[*]}"
	status=1
elif [ "$passed" -eq 0 ]; then
	echo "$0: no test ran (found none, or all skipped)"
	status=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
