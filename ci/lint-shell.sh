#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# lint-shell.sh - shellcheck over every shell script of the repository:
# *.sh, *.bash and files whose first line names sh or bash (.ci/run).
# Tracked files in a git checkout (so a scratch file does not fail CI),
# every file outside build/ otherwise.
#
#   ci/lint-shell.sh        (make shellcheck)
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v shellcheck >/dev/null; then
	echo "lint-shell: shellcheck is not installed (apt-get install shellcheck)" >&2
	exit 1
fi

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files)
else
	mapfile -t files < <(find . -path ./build -prune -o -path ./.git -prune \
		-o -type f -print | sed 's|^\./||')
fi

scripts=()
for f in "${files[@]}"; do
	[ -f "$f" ] || continue
	case $f in
	*.sh | *.bash) scripts+=("$f") ;;
	*.in)
		# made into a script by make (tools/hakmem.in)
		if head -n 1 "$f" | grep -Eq '^#!.*(/|env )(ba)?sh( |$)'; then
			scripts+=("$f")
		fi
		;;
	*.*) ;;
	*)
		if head -n 1 "$f" | grep -Eq '^#!.*(/|env )(ba)?sh( |$)'; then
			scripts+=("$f")
		fi
		;;
	esac
done

shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean ($(shellcheck --version |
	sed -n 's/^version: //p'))"
