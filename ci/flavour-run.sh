#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# flavour-run.sh - Larson (and, for the checking flavours, stress tests)
# under one build flavour, with proof that hakmem served it.  What
# `make <flavour>-run THREADS=N` runs; the CI matrix's last step.
#
# What each flavour runs, with what environment and under what runner, is
# its row in mk/flavours.mk (FLAVOUR_LARSON_*, FLAVOUR_STRESS_*, FLAVOUR_ENV_*,
# FLAVOUR_RUNNER_*, FLAVOUR_SMOKE_*), read from build/<f>/flavour.env
# (tests/flavour.bash).  The stress tests (tests/stress/, linked with
# libhakmem.a) run full length, or with --smoke under a runner such as
# memcheck: torture for the checking flavours, and for ubsan-mailbox and
# tsan also churn (thread churn: exiting threads publish their slabs,
# successors adopt them), prodcons (every block freed by another thread)
# and heir (a thread frees what exited threads left: adopt on free,
# fostered slabs given back): the workloads that drive the remote queues
# and the mailbox hardest.
#
#   ci/flavour-run.sh FLAVOUR [THREADS]       (build first: make FLAVOUR=..
#                                              lib tests benches)
#
# How each flavour reaches hakmem (the README's "Flavours" section): a
# flavour whose library exports malloc is preloaded into
# build/<f>/bench/larson (built with the flavour's flags: ASan-instrumented
# for asan-preload, which needs ASAN_OPTIONS=verify_asan_link_order=0);
# tsan's larson links libhakmem.a and calls hak_* (tests/hak_api_names.h):
# TSan owns malloc.
#
# Proof: larson must print hakmem=1 (hak_owns() claimed a block malloc
# returned) and the process must print hakmem's `hakmem:` stats line
# (HAKMEM_STATS=1).  Any sanitizer or memcheck report fails the run; a
# stress test's own check failing does too, unless tests/known-failures
# lists it for this flavour (then it is reported as a KNOWN FAILURE).
#
# Environment: O (build root, default build), LARSON_SECONDS (Larson's
# run time, default per flavour), LARSON_ARGS (all of Larson's arguments
# but THREADS), STRESS=0 (skip the stress tests).
#
# Prints Larson's result line, then one summary line:
#   <flavour>-run: ops_per_sec=X threads=T hakmem=1 (served by hakmem)
set -euo pipefail

usage() {
	echo "usage: $0 FLAVOUR [THREADS]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
flavour=$1
threads=${2:-2}
case $threads in '' | *[!0-9]* | 0) usage ;; esac

cd "$(dirname "$0")/.."
build=${O:-build}/$flavour
[ -d "$build" ] || { echo "$0: $build: not built (make $flavour)" >&2; exit 1; }
build=$(cd "$build" && pwd)
lib=$build/libhakmem.so
larson=$build/bench/larson

# shellcheck source=tests/flavour.bash
. tests/flavour.bash
flavour_load "$build"
envs=(HAKMEM_STATS=1 ${hak_env[@]+"${hak_env[@]}"})
wrap=(${hak_runner[@]+"${hak_runner[@]}"})
if [ ${#wrap[@]} -gt 0 ] && ! command -v "${wrap[0]}" >/dev/null; then
	echo "$0: ${wrap[0]} is not installed" >&2
	exit 1
fi
stress=(${hak_stress[@]+"${hak_stress[@]}"})
seconds=${hak_larson[0]}
larson_rest=${hak_larson[*]:1}
seconds=${LARSON_SECONDS:-$seconds}
if [ "${STRESS:-1}" = 0 ]; then stress=(); fi
read -r -a args <<<"${LARSON_ARGS:-$seconds $larson_rest}"
args+=("$threads")

for f in "$larson" "$lib"; do
	[ -e "$f" ] || { echo "$0: $f missing (make FLAVOUR=$flavour lib benches)" >&2; exit 1; }
done
[ "$hak_override" = 1 ] && envs+=(LD_PRELOAD="$lib")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# reported FILE - true if FILE holds the flavour's tool's report
reported() {
	[ -n "$hak_report" ] && grep -Eq "$hak_report" "$1"
}

# fail WHAT FILE - say why, show the report, exit 1
fail() {
	echo "$flavour-run: FAIL: $1" >&2
	tail -n 60 "$2" >&2
	exit 1
}

echo "$flavour-run: ${envs[*]} ${wrap[*]} larson ${args[*]}" |
	sed "s|$PWD/||g" >&2
rc=0
env "${envs[@]}" ${wrap[@]+"${wrap[@]}"} "$larson" "${args[@]}" \
	>"$tmp/larson.out" 2>"$tmp/larson.err" || rc=$?
cat "$tmp/larson.out"
[ "$rc" -eq 0 ] || fail "larson exited with status $rc" "$tmp/larson.err"
! reported "$tmp/larson.err" || fail "the tool reported an error" "$tmp/larson.err"
line=$(grep -m1 '^larson: ' "$tmp/larson.out" || true)
[ -n "$line" ] || fail "larson printed no result line" "$tmp/larson.err"
case " $line " in
*' hakmem=1 '*) ;;
*) fail "hak_owns() did not claim larson's blocks (hakmem=0): not hakmem's run" "$tmp/larson.err" ;;
esac
grep -q '^hakmem: ' "$tmp/larson.err" ||
	fail "no 'hakmem:' stats line on stderr: hakmem did not serve the run" "$tmp/larson.err"
grep '^hakmem: ' "$tmp/larson.err" >&2
ops=$(sed -n 's/.* ops_per_sec=\([0-9]*\).*/\1/p' <<<"$line")

# known FLAVOUR/TEST - the tests/known-failures reason for it, if listed
# (for this build's compiler, or for any)
cc=$(basename "$(cut -d' ' -f1 "$build/.cflags" 2>/dev/null)")
case $cc in *clang*) cc=clang ;; *) cc=gcc ;; esac
known() {
	awk -v a="$1@$cc" -v b="$1" '$1 == a || $1 == b {
		$1 = ""; sub(/^ +/, ""); print; exit }' tests/known-failures 2>/dev/null
}

# the stress tests link libhakmem.a: no preloading
tenv=()
for e in "${envs[@]}"; do
	case $e in LD_PRELOAD=*) ;; *) tenv+=("$e") ;; esac
done
for t in ${stress[@]+"${stress[@]}"}; do
	prog=$build/tests/stress/$t.t
	if [ ! -x "$prog" ]; then
		echo "$0: $prog missing (make FLAVOUR=$flavour run-deps)" >&2
		exit 1
	fi
	targs=()
	[ "$hak_smoke" = 1 ] && targs=(--smoke)
	[ "$t" = torture ] && targs+=("$threads")
	echo "$flavour-run: ${wrap[*]} $t ${targs[*]}" >&2
	rc=0
	env "${tenv[@]}" ${wrap[@]+"${wrap[@]}"} "$prog" "${targs[@]}" \
		>"$tmp/$t.out" 2>"$tmp/$t.err" || rc=$?
	! reported "$tmp/$t.err" || fail "the tool reported an error in $t" "$tmp/$t.err"
	if [ "$rc" -ne 0 ]; then
		why=$(known "$flavour/stress/$t")
		[ -n "$why" ] || fail "$t exited with status $rc" "$tmp/$t.err"
		# a listed failure of the test's own checks (never a tool's
		# report, which failed above) does not fail the run
		tail -n 3 "$tmp/$t.err" >&2
		echo "$flavour-run: $t: KNOWN FAILURE (tests/known-failures): $why" >&2
		continue
	fi
	tail -n 1 "$tmp/$t.out" >&2
done

echo "$flavour-run: ops_per_sec=$ops threads=$threads hakmem=1 (served by hakmem)"
