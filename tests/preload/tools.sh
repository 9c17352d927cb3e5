#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools.sh - everyday tools under LD_PRELOAD=libhakmem.so: pipelines of
# bash, coreutils (sort with small buffers and two threads, uniq, join,
# tr, cut), gzip and awk, every process of each pipeline preloaded.  Same
# stdout as without, and hakmem's stats line on stderr.
#
#   tests/preload/tools.sh BUILD_DIR      exit 0 pass, 1 fail, 77 skip
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
# shellcheck source=common.bash disable=SC1091
. "$(dirname "$0")/common.bash"

pl_init tools "${1:-}"
for t in seq sort uniq join tr cut gzip awk md5sum; do
	command -v "$t" >/dev/null || pl_skip "no $t"
done

# Each pipeline runs in a fresh bash, so the shell is preloaded too; the
# trailing `exit` keeps bash from exec'ing the last command, so bash itself
# (which leaves stderr open, unlike coreutils) prints the stats line.
# Single quotes on purpose: the pipelines expand in that bash.
# shellcheck disable=SC2016
pipelines=(
	'seq 1 200000 | sort -R --random-source=<(yes) | sort -n -S 64K --parallel=2 | md5sum'
	'seq 1 100000 | awk "{ print \$1 % 977, \$1 }" | sort -k1,1n -k2,2nr -S 1M | uniq -c -w 4 | md5sum'
	'seq 1 300000 | gzip -6 | gzip -dc | tr 0-9 a-j | cut -c1-3 | sort | uniq -c | sort -k1,1rn -k2 | md5sum'
	'join <(seq 1 3 60000 | sort) <(seq 1 2 60000 | sort) | wc -l'
	'awk "BEGIN { for (i = 0; i < 200000; i++) a[i % 5003] = a[i % 5003] \"x\" i; n = 0; for (k in a) n += length(a[k]); print n }"'
	'seq 1 8000 | while read -r n; do s="$s$n,"; [ $((n % 1000)) -eq 0 ] && echo "${#s}"; done'
)

i=0
for p in "${pipelines[@]}"; do
	i=$((i + 1))
	pl_compare "pipeline$i" LC_ALL=C -- bash -c "set -o pipefail; $p; exit \$?"
done
pl_pass "${#pipelines[@]} tool pipelines give the same output under hakmem"
