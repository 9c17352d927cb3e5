# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# git-work.bash DIR - the workload of tests/preload/git.sh (not a test
# itself: run.sh runs only *.sh).  In the empty directory DIR: git init,
# 4000 generated commits through fast-import, 30 more through add/commit
# with a branch and a merge, gc (repack with delta search on two threads),
# fsck, and then log, blame, diff, grep and rev-list.  Only
# deterministic results go to stdout: fixed names, e-mails and dates, no
# pack sizes (threaded delta search may choose other deltas).  No network.
set -euo pipefail

dir=$1
export HOME=$dir GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C TZ=UTC
export GIT_AUTHOR_NAME='A U Thor' GIT_AUTHOR_EMAIL=author@example.com
export GIT_COMMITTER_NAME='C O Mitter' GIT_COMMITTER_EMAIL=committer@example.com
cd "$dir"
git init -q -b main repo
cd repo
git config gc.auto 0
git config core.pager cat
git config pack.threads 2
git config user.useConfigOnly true

# 1. a history of 4000 commits, each changing three of 150 files
awk 'BEGIN {
	for (c = 1; c <= 4000; c++) {
		msg = sprintf("commit %d: touch %d files", c, 3)
		printf "commit refs/heads/main\nmark :%d\n", c
		printf "author A U Thor <author@example.com> %d +0000\n", 1700000000 + c * 60
		printf "committer C O Mitter <committer@example.com> %d +0000\n", 1700000000 + c * 60
		printf "data %d\n%s\n", length(msg), msg
		if (c > 1)
			printf "from :%d\n", c - 1
		for (k = 0; k < 3; k++) {
			f = (c * 7 + k * 53) % 150
			body = ""
			n = 20 + (c + f) % 60
			for (l = 0; l < n; l++)
				body = body sprintf("file %d line %d: value %d %s\n", f, l,
					(c * (l + 1) * 2654435761) % 1000003,
					(l == c % n) ? "changed in " c : "")
			printf "M 100644 inline dir%d/file%d.txt\ndata %d\n%s\n", f % 10, f, length(body), body
		}
		printf "\n"
	}
}' | git fast-import --quiet
git reset -q --hard main

# 2. the porcelain: commits, a branch, a merge
export GIT_AUTHOR_DATE='1800000000 +0000' GIT_COMMITTER_DATE='1800000000 +0000'
for i in $(seq 1 30); do
	if [ "$i" -eq 10 ]; then
		git checkout -q -b side
	elif [ "$i" -eq 20 ]; then
		git checkout -q main
	fi
	if [ "$i" -ge 10 ] && [ "$i" -lt 20 ]; then
		seq "$i" 3 $((i * 40)) >"side$((i % 4)).txt"
	else
		seq "$i" 3 $((i * 40)) >"porcelain$((i % 7)).txt"
	fi
	f=$((i * 3 % 150))
	sed -i "1s/.*/edit $i/" "dir$((f % 10))/file$f.txt"
	git add -A
	git commit -q -m "porcelain $i"
done
git merge -q --no-edit -m 'merge side' side

# 3. housekeeping: repack everything, check it
git gc -q --prune=now
git fsck --full --strict --no-progress
git count-objects -v | grep -E '^(count|in-pack|garbage):'

# 4. readers
git rev-list --count --all
git log --format='%H %an %ad %s' --date=raw | md5sum
git log -p --stat | md5sum
git log --oneline -3
git blame -s dir3/file3.txt | md5sum
git diff --stat HEAD~200 HEAD | tail -n 1
git grep -c -e 'line 1[0-9]:' -e 'changed in 3' | md5sum
git log --all --format=%H | git cat-file --batch-check | md5sum
git rev-parse HEAD 'HEAD^{tree}'
