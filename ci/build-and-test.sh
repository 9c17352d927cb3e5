#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# build-and-test.sh - build one flavour and run its tests; for release also
# the Larson comparison (hakmem vs glibc vs mimalloc, which fails unless
# hakmem provably served the run).  The CI matrix calls it once per
# flavour; it is equally the way to reproduce a CI job locally.
#
#   ci/build-and-test.sh [FLAVOUR]      (default release)
#
# Environment: O (build root, default build), JOBS (default nproc),
# TIMEOUT (per test, passed to tests/run.sh), THREADS (Larson, default 2),
# LARSON_SECONDS (default 5).
set -euo pipefail

cd "$(dirname "$0")/.."

flavour=${1:-release}
out=${O:-build}
jobs=${JOBS:-$(nproc)}
threads=${THREADS:-2}

echo "== build $flavour"
make -j"$jobs" O="$out" FLAVOUR="$flavour" tests
if [ "$flavour" = release ]; then
	make -j"$jobs" O="$out" FLAVOUR=release benches
fi

echo "== test $flavour"
tests/run.sh "$out/$flavour"

if [ "$flavour" = release ]; then
	echo "== larson THREADS=$threads"
	make O="$out" larson-run THREADS="$threads"
fi
