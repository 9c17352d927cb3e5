#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-workflows.sh - validate .github/workflows/*.yml against GitHub's
# workflow schema with action-validator (npm @action-validator/cli, a
# WebAssembly build: nothing is downloaded when it runs).  The package is
# installed once, with npm, under $O/tools (default build/tools, which git
# ignores); later runs use it as it is.
#
#   ci/check-workflows.sh        (make check-workflows)
set -euo pipefail

cd "$(dirname "$0")/.."

version=0.6.0
tools=${O:-build}/tools
bin=$tools/node_modules/.bin/action-validator

mapfile -t workflows < <(find .github/workflows -name '*.yml' -o -name '*.yaml' 2>/dev/null | sort)
if [ ${#workflows[@]} -eq 0 ]; then
	echo "check-workflows: no workflow under .github/workflows" >&2
	exit 1
fi

if [ ! -x "$bin" ] ||
	[ "$(cat "$tools/.action-validator-version" 2>/dev/null)" != "$version" ]; then
	if ! command -v npm >/dev/null; then
		echo "check-workflows: npm is not installed (apt-get install npm)" >&2
		exit 1
	fi
	echo "check-workflows: installing @action-validator/cli@$version into $tools"
	mkdir -p "$tools"
	npm install --prefix "$tools" --no-audit --no-fund \
		--loglevel=error "@action-validator/cli@$version" \
		"@action-validator/core@$version" >/dev/null
	echo "$version" >"$tools/.action-validator-version"
fi

for w in "${workflows[@]}"; do
	"$bin" "$w"
done
echo "check-workflows: ${#workflows[@]} workflow(s) valid (action-validator $version)"
