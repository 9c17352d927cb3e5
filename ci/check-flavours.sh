#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-flavours.sh - the flavour table (mk/flavours.mk) is the one list of
# flavours: check what repeats it.
#   - the CI matrix of .github/workflows/ci.yml (matrix flavour x cc, minus
#     its exclude cells, plus its include cells) is exactly the table's
#     cells (FLAVOUR_CI_<flavour>: `make -s flavour-cells`);
#   - the README's Flavours table has one row per flavour, and no other;
#   - every tests/negative/*.c program is some flavour's negative test.
#
#   ci/check-flavours.sh [ROOT]      check the tree at ROOT (default: the repo)
#   ci/check-flavours.sh --self-test prove it fails on a CI matrix that lost
#                                    a cell, a README without a flavour's
#                                    row, and a negative program no flavour
#                                    runs (copies of the files in a temp dir)
# Every mismatch prints one line; the exit status is 1 if any.
set -euo pipefail

# matrix_cells WORKFLOW - "flavour cc" for each cell of its matrix.  Reads
# the one-line forms the file uses: "flavour: [a, b]", "cc: [x, y]" and
# "- { flavour: f, cc: c }" under include: or exclude:; comments ignored.
matrix_cells() {
	sed 's/#.*//' "$1" | awk '
	function list(s, arr,   n, i) {
		sub(/^[^[]*\[/, "", s); sub(/\].*$/, "", s)
		n = split(s, arr, /[ ,]+/)
		return n
	}
	/^[ \t]*matrix:/ { inm = 1; next }
	inm && /^[ \t]*(flavour|cc):[ \t]*\[/ {
		key = $1; sub(/:$/, "", key)
		n = list($0, tmp)
		for (i = 1; i <= n; i++) if (tmp[i] != "") vals[key] = vals[key] " " tmp[i]
		next
	}
	inm && /^[ \t]*include:/ { mode = "inc"; next }
	inm && /^[ \t]*exclude:/ { mode = "exc"; next }
	inm && mode != "" && /^[ \t]*- *\{/ {
		f = $0; sub(/.*flavour:[ \t]*/, "", f); sub(/[ ,}].*/, "", f)
		c = $0; sub(/.*cc:[ \t]*/, "", c); sub(/[ ,}].*/, "", c)
		cell[mode, f " " c] = 1; cells[mode] = cells[mode] "\n" f " " c
		next
	}
	inm && /^[ \t]*[a-z-]+:/ && !/^[ \t]*(flavour|cc|include|exclude):/ { inm = 0 }
	END {
		nf = split(vals["flavour"], fl, " "); nc = split(vals["cc"], cl, " ")
		for (i = 1; i <= nf; i++)
			for (j = 1; j <= nc; j++)
				if (!(("exc", fl[i] " " cl[j]) in cell)) print fl[i], cl[j]
		n = split(cells["inc"], inc, "\n")
		for (i = 1; i <= n; i++) if (inc[i] != "") print inc[i]
	}' | sort -u
}

# readme_flavours README - the first column of its Flavours table
readme_flavours() {
	awk '/^\| flavour \|/ { t = 1; next }
		t && /^\|---/ { next }
		t && /^\| `/ { s = $0; sub(/^\| `/, "", s); sub(/`.*/, "", s); print s; next }
		t { exit }' "$1" | sort
}

check() {
	local root=$1 bad=0 want got f p
	cd "$root"
	want=$(make -s --no-print-directory flavour-cells) || return 1
	want=$(sort -u <<<"$want")
	got=$(matrix_cells .github/workflows/ci.yml)
	if [ -z "$got" ]; then
		echo ".github/workflows/ci.yml: no matrix cells read (flavour: [...], cc: [...])"
		bad=1
	fi
	while read -r f; do
		[ -n "$f" ] || continue
		echo ".github/workflows/ci.yml: CI does not run '$f' (FLAVOUR_CI_${f%% *} in mk/flavours.mk)"
		bad=1
	done < <(comm -23 <(echo "$want") <(echo "$got"))
	while read -r f; do
		[ -n "$f" ] || continue
		echo ".github/workflows/ci.yml: CI runs '$f', which mk/flavours.mk does not list"
		bad=1
	done < <(comm -13 <(echo "$want") <(echo "$got"))

	# shellcheck disable=SC2016 # make's $(...), not the shell's
	want=$(make -s --no-print-directory -f Makefile --eval \
		'print-flavours:;@printf "%s\n" $(FLAVOURS)' print-flavours) || return 1
	want=$(sort <<<"$want")
	got=$(readme_flavours README.md)
	while read -r f; do
		[ -n "$f" ] || continue
		echo "README.md: the Flavours table has no row for '$f' (mk/flavours.mk)"
		bad=1
	done < <(comm -23 <(echo "$want") <(echo "$got"))
	while read -r f; do
		[ -n "$f" ] || continue
		echo "README.md: the Flavours table has a row for '$f', which mk/flavours.mk does not list"
		bad=1
	done < <(comm -13 <(echo "$want") <(echo "$got"))

	# shellcheck disable=SC2016
	got=$(make -s --no-print-directory --eval \
		'print-neg:;@printf "%s\n" $(foreach f,$(FLAVOURS),$(FLAVOUR_NEGATIVE_$f))' \
		print-neg) || return 1
	# a case is PROGRAM[.ARG...] (tests/negative/expect.sh)
	got=$(cut -d. -f1 <<<"$got" | sort -u)
	for p in tests/negative/*.c; do
		f=$(basename "$p" .c)
		if ! grep -qx "$f" <<<"$got"; then
			echo "$p: no flavour runs it (FLAVOUR_NEGATIVE_* in mk/flavours.mk)"
			bad=1
		fi
	done
	return "$bad"
}

self_test() {
	local here tmp out
	here=$(cd "$(dirname "$0")/.." && pwd)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-flavours.XXXXXX")
	trap 'rm -rf "$tmp"' RETURN
	mkdir -p "$tmp/.github/workflows" "$tmp/tests/negative"
	cp -r "$here/Makefile" "$here/mk" "$here/README.md" "$tmp/"
	cp -r "$here/include" "$tmp/"
	cp "$here"/tests/negative/*.c "$tmp/tests/negative/"
	cp "$here/.github/workflows/ci.yml" "$tmp/.github/workflows/"
	if ! out=$(check "$tmp" 2>&1); then
		echo "check-flavours self-test: FAIL: the clean copy fails:" >&2
		echo "$out" >&2
		return 1
	fi
	# (1) a matrix cell dropped: clang's valgrind excluded
	sed -i 's/^\( *\)include:/\1exclude:\n\1  - { flavour: valgrind, cc: clang }\n\1include:/' \
		"$tmp/.github/workflows/ci.yml"
	# (2) the README loses tsan's row
	sed -i '/^| .tsan. |/d' "$tmp/README.md"
	# (3) a negative program no flavour runs
	echo 'int main(void) { return 0; }' >"$tmp/tests/negative/leak.c"
	out=$(check "$tmp" 2>&1) && {
		echo "check-flavours self-test: FAIL: the broken copy passes" >&2
		return 1
	}
	local want
	for want in "CI does not run 'valgrind clang'" "no row for 'tsan'" \
		"leak.c: no flavour runs it"; do
		if ! grep -qF "$want" <<<"$out"; then
			echo "check-flavours self-test: FAIL: not caught: $want" >&2
			echo "$out" >&2
			return 1
		fi
	done
	echo "check-flavours self-test: caught a dropped CI cell, a missing README row, an unrun negative program"
}

if [ "${1:-}" = --self-test ]; then
	self_test
	exit
fi
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
if ! out=$(check "$root"); then
	echo "$out" >&2
	exit 1
fi
echo "check-flavours: the CI matrix, the README and tests/negative/ match mk/flavours.mk ($(wc -w <<<"$(make -s -C "$root" --no-print-directory flavour-cells | cut -d' ' -f1 | sort -u)") flavours)"
