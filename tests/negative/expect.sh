#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# expect.sh - run one negative test under its flavour and pass only if the
# flavour's tool reports the bug.  Each program in tests/negative/ commits
# one real bug on a hakmem block (see its header); mk/flavours.mk says which
# flavours must catch which bug (FLAVOUR_NEGATIVE_<flavour>), and by what
# words in their report (NEGATIVE_WANT_<flavour>/<program>).
#
#   tests/negative/expect.sh BUILD_DIR CASE  exit 0 reported, 1 not
#
# A case is a program, or a program and its arguments joined by dots:
# hard_poison.uaf8.64 runs `hard_poison uaf8 64`.  The release hardening's
# cases (hard_*, issue 13) must be reported by the release build itself
# and by failfast, and the process must die by a signal (abort).
#
# BUILD_DIR's last component names the flavour; the program is
# BUILD_DIR/negative/PROGRAM (`make FLAVOUR=... negatives`).  It runs as
# that flavour's Larson does (ci/flavour-run.sh), with the flavour's
# environment and runner (BUILD_DIR/flavour.env): preloaded, except where
# the library exports no malloc (tsan: linked with libhakmem.a).  It passes
# when the run (1) proved the block hakmem's ("... is hakmem's"), (2) did
# not exit 0, and (3) printed the expected report.  tests/run.sh runs each
# as "<flavour>/negative/<program>"; these programs are not *.t tests and
# no flavour runs them as ordinary tests.
set -euo pipefail

# shellcheck source=tests/flavour.bash
. "$(dirname "${BASH_SOURCE[0]}")/../flavour.bash"

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR CASE" >&2
	exit 2
fi

build=$(cd "$1" && pwd)
name=$2
flavour=$(basename "$build")
IFS=. read -r -a argv <<<"$name"
prog=$build/negative/${argv[0]}
flavour_load "$build"
want=${hak_want[$name]:-}
if [ -z "$want" ]; then
	echo "$name: SKIP: not a bug the $flavour flavour is meant to catch"
	exit 77
fi
if [ ! -x "$prog" ]; then
	echo "$name: FAIL: $prog not built (make FLAVOUR=$flavour negatives)" >&2
	exit 1
fi

envs=(${hak_env[@]+"${hak_env[@]}"})
[ "$hak_override" = 1 ] && envs+=(LD_PRELOAD="$build/libhakmem.so")
wrap=(${hak_runner[@]+"${hak_runner[@]}"})
if [ ${#wrap[@]} -gt 0 ] && ! command -v "${wrap[0]}" >/dev/null; then
	echo "$name: SKIP: ${wrap[0]} is not installed"
	exit 77
fi

out=$(mktemp "${TMPDIR:-/tmp}/hakmem-neg.XXXXXX")
trap 'rm -f "$out"' EXIT
rc=0
timeout -k 10 120 env ${envs[@]+"${envs[@]}"} ${wrap[@]+"${wrap[@]}"} \
	"$prog" "${argv[@]:1}" >"$out" 2>&1 || rc=$?
cat "$out"
echo "----"
if ! grep -q "^negative: ${argv[0]}: .* is hakmem's" "$out"; then
	echo "$name: FAIL: hakmem did not serve the block (exit $rc)" >&2
	exit 1
fi
if [ "$rc" -eq 0 ]; then
	echo "$name: FAIL: exit status 0: $flavour let the bug pass" >&2
	exit 1
fi
if [[ $flavour/$name =~ ^(release|failfast)/hard_ ]] && [ "$rc" -lt 128 ]; then
	echo "$name: FAIL: exit $rc, not killed by a signal (abort)" >&2
	exit 1
fi
if ! grep -Eq "$want" "$out"; then
	echo "$name: FAIL: exit $rc but no report matching /$want/" >&2
	exit 1
fi
echo "$name: PASS: $flavour reported it: $(grep -Em1 "$want" "$out")"
