#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# build-and-test.sh - one CI matrix cell: build one flavour, run its tests
# (its negative tests included: each must be reported by the flavour's
# tool), then Larson under it with proof that hakmem served it
# (`make FLAVOUR-run`).  For release also the comparison with glibc and
# mimalloc (`make larson-run`).  The same command reproduces a CI job
# locally.
#
#   ci/build-and-test.sh [FLAVOUR]      (default release)
#
# Environment: CC (gcc or clang; the build directory is then
# $O-clang unless O is set), O (build root, default build), JOBS (default
# nproc), TIMEOUT (per test, for tests/run.sh), THREADS (Larson, default 4).
set -euo pipefail

cd "$(dirname "$0")/.."

flavour=${1:-release}
cc=${CC:-gcc}
case $cc in
*clang*) out=${O:-build-clang} ;;
*) out=${O:-build} ;;
esac
jobs=${JOBS:-$(nproc)}
threads=${THREADS:-4}

echo "== $cc: $("$cc" --version | sed -n 1p)"
echo "== build $flavour"
make -j"$jobs" O="$out" CC="$cc" FLAVOUR="$flavour" tests

echo "== test $flavour"
make O="$out" CC="$cc" TIMEOUT="${TIMEOUT:-}" "test-$flavour"

echo "== larson under $flavour, THREADS=$threads"
make O="$out" CC="$cc" "$flavour-run" THREADS="$threads"

if [ "$flavour" = release ]; then
	echo "== larson: hakmem vs glibc vs mimalloc, THREADS=$threads"
	make O="$out" CC="$cc" larson-run THREADS="$threads"
fi
