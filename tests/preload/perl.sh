#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perl.sh - Debian's perl running tests/preload/alloc_heavy.pl (hashes of
# arrays, regex captures and substitutions, sorts, string churn, deep
# structures built and dropped) under LD_PRELOAD=libhakmem.so: same stdout
# as without, and hakmem's stats line on stderr.
#
#   tests/preload/perl.sh BUILD_DIR       exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init perl "${1:-}"
pl_need perl
command -v perl >/dev/null || pl_skip "no perl"
script=$(dirname "$0")/alloc_heavy.pl

pl_compare alloc_heavy PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 -- \
	perl "$script"
pl_figures alloc_heavy PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 -- \
	perl "$script"
pl_pass "perl gives the same output under hakmem"
