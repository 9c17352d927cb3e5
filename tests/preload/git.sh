#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# git.sh - Debian's git running tests/preload/git-work.bash (init, 4000
# commits through fast-import, porcelain commits with a branch and a merge,
# gc with a two-thread repack, fsck, log/blame/diff/grep) with every git
# process under LD_PRELOAD=libhakmem.so: same stdout as without, and
# hakmem's stats lines on stderr.  Names, e-mails and dates come from the
# environment; nothing touches the network or ~/.gitconfig.
#
#   tests/preload/git.sh BUILD_DIR        exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init git "${1:-}"
pl_need git
command -v git >/dev/null || pl_skip "no git"
work=$(cd "$(dirname "$0")" && pwd)/git-work.bash

# each run in a fresh directory under $PL_TMP
# shellcheck disable=SC2016
run='d=$(mktemp -d "$T/git.XXXXXX") && bash "$W" "$d"'
pl_compare repo T="$PL_TMP" W="$work" -- bash -c "$run; exit \$?"
pl_figures repo T="$PL_TMP" W="$work" -- bash -c "$run; exit \$?"
pl_pass "git gives the same output under hakmem"
