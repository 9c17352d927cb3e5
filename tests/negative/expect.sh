#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# expect.sh - run one negative test under its flavour and pass only if the
# flavour's tool reports the bug.  Each program in tests/negative/ commits
# one real bug on a hakmem block (see its header); this table says which
# flavours must catch which bug, and by what words in their report.
#
#   tests/negative/expect.sh --list FLAVOUR     the programs FLAVOUR runs
#   tests/negative/expect.sh BUILD_DIR PROGRAM  exit 0 reported, 1 not
#
# BUILD_DIR's last component names the flavour; the program is
# BUILD_DIR/negative/PROGRAM (`make FLAVOUR=... negatives`).  It runs as
# that flavour's Larson does (ci/flavour-run.sh): preloaded, except tsan
# (linked with libhakmem.a), and under memcheck for valgrind.  It passes
# when the run (1) proved the block hakmem's ("... is hakmem's"), (2) did
# not exit 0, and (3) printed the expected report.  tests/run.sh runs each
# as "<flavour>/negative/<program>"; these programs are not *.t tests and
# no flavour runs them as ordinary tests.
set -euo pipefail

# expected FLAVOUR PROGRAM - the ERE the report must match; none: not run
expected() {
	case $1/$2 in
	asan-preload/use_after_free) echo 'ERROR: AddressSanitizer: (use-after-poison|heap-use-after-free)' ;;
	asan-preload/overflow) echo 'ERROR: AddressSanitizer: (use-after-poison|heap-buffer-overflow)' ;;
	asan-preload/double_free) echo 'ERROR: AddressSanitizer' ;;
	valgrind/use_after_free) echo 'Invalid read of size' ;;
	valgrind/overflow) echo 'Invalid write of size' ;;
	valgrind/uninit) echo 'Conditional jump or move depends on uninitialised value' ;;
	valgrind/double_free) echo 'Invalid free\(\)' ;;
	tsan/race) echo 'WARNING: ThreadSanitizer: data race' ;;
	ubsan-mailbox/misaligned) echo 'runtime error: load of misaligned address' ;;
	ubsan-mailbox/signed_overflow) echo 'runtime error: signed integer overflow' ;;
	failfast/double_free) echo '^hakmem: (free\(\)|failfast): double free' ;;
	failfast/foreign_free) echo '^hakmem: (free\(\): invalid pointer|failfast: pointer hakmem does not own)' ;;
	failfast/interior_free) echo '^hakmem: (free\(\): invalid pointer|failfast: free of a pointer that is not a block start)' ;;
	esac
}

programs=(use_after_free overflow double_free foreign_free interior_free uninit
	misaligned signed_overflow race)

if [ $# -eq 2 ] && [ "$1" = --list ]; then
	for p in "${programs[@]}"; do
		if [ -n "$(expected "$2" "$p")" ]; then
			echo "$p"
		fi
	done
	exit 0
fi
if [ $# -ne 2 ]; then
	echo "usage: $0 --list FLAVOUR | $0 BUILD_DIR PROGRAM" >&2
	exit 2
fi

build=$(cd "$1" && pwd)
name=$2
flavour=$(basename "$build")
prog=$build/negative/$name
want=$(expected "$flavour" "$name")
if [ -z "$want" ]; then
	echo "$name: SKIP: not a bug the $flavour flavour is meant to catch"
	exit 77
fi
if [ ! -x "$prog" ]; then
	echo "$name: FAIL: $prog not built (make FLAVOUR=$flavour negatives)" >&2
	exit 1
fi

envs=(LD_PRELOAD="$build/libhakmem.so")
wrap=()
case $flavour in
asan-preload) envs+=(ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0) ;;
ubsan-mailbox) envs+=(UBSAN_OPTIONS=print_stacktrace=1) ;;
tsan) envs=() ;;
valgrind)
	if ! command -v valgrind >/dev/null; then
		echo "$name: SKIP: valgrind is not installed"
		exit 77
	fi
	wrap=(valgrind -q --fair-sched=yes --error-exitcode=99
		--soname-synonyms=somalloc=nouserintercepts)
	;;
esac

out=$(mktemp "${TMPDIR:-/tmp}/hakmem-neg.XXXXXX")
trap 'rm -f "$out"' EXIT
rc=0
timeout -k 10 120 env ${envs[@]+"${envs[@]}"} ${wrap[@]+"${wrap[@]}"} \
	"$prog" >"$out" 2>&1 || rc=$?
cat "$out"
echo "----"
if ! grep -q "^negative: $name: .* is hakmem's" "$out"; then
	echo "$name: FAIL: hakmem did not serve the block (exit $rc)" >&2
	exit 1
fi
if [ "$rc" -eq 0 ]; then
	echo "$name: FAIL: exit status 0: $flavour let the bug pass" >&2
	exit 1
fi
if ! grep -Eq "$want" "$out"; then
	echo "$name: FAIL: exit $rc but no report matching /$want/" >&2
	exit 1
fi
echo "$name: PASS: $flavour reported it: $(grep -Em1 "$want" "$out")"
