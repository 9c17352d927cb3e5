#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-includes.sh - enforce DESIGN.md's box boundaries on #include "...".
#
#   ci/check-includes.sh [ROOT]     check the tree at ROOT (default: the repo)
#   ci/check-includes.sh --self-test
#                                   prove the checker fails on a wrong
#                                   include (a copy of the tree in a temp dir)
#
# Boxes, bottom to top; a box may include the contract header <box>/<box>.h
# of the boxes below it, and any file of its own directory:
#
#   os <- registry <- superslab <- remote <- tiny;  large: os, registry,
#   superslab
#
# Besides those:
#   - hak_internal.h, hak_lock.h and hak_track.h (hakmem/, "depend on nothing") and
#     debug/hooks.h (the one small header through which boxes call debug/)
#     may be included by any box;
#   - hakmem/*.c and hakmem/*.h (api, override, options) may include every
#     box's contract header, api.h, options.h, debug/*.h and hakmem.h;
#   - debug/ may include every box's contract header, its own files,
#     hak_internal.h, hak_track.h and hakmem.h: it reads boxes through their
#     headers;
#   - <box>/*_internal.h only inside <box>/ and tests/unit/<box>/; no other
#     test includes an _internal.h.
# Every violation prints "file:line: why"; the exit status is 1 if any.
set -euo pipefail

boxes=(os registry superslab remote tiny large)

# below BOX - the boxes BOX may include the contract headers of
below() {
	case $1 in
	os) echo "" ;;
	registry) echo "os" ;;
	superslab) echo "os registry" ;;
	remote) echo "os registry superslab" ;;
	tiny) echo "os registry superslab remote" ;;
	large) echo "os registry superslab" ;;
	esac
}

is_box() {
	local b
	for b in "${boxes[@]}"; do
		[ "$b" = "$1" ] && return 0
	done
	return 1
}

# resolve FILE INC - print the repo path INC names from FILE: the
# including file's directory first, then -Iinclude -Ihakmem -I. as the
# Makefile searches; the bare name if none has it.
resolve() {
	local dir d
	dir=$(dirname "$1")
	for d in "$dir" include hakmem .; do
		if [ -f "$d/$2" ]; then
			# normalise "hakmem/os/../<name>" and "./<name>"
			realpath -m --relative-to=. "$d/$2"
			return
		fi
	done
	echo "$2"
}

violations=0

# bad FILE LINE WHY
bad() {
	echo "$1:$2: $3"
	violations=$((violations + 1))
}

# check_file FILE - every #include "..." of FILE against the rules
check_file() {
	local f=$1 where box lineno inc target tbox tname ok b allowed
	case $f in
	hakmem/*/*) where=box box=${f#hakmem/} box=${box%%/*} ;;
	hakmem/*) where=top box= ;;
	debug/*) where=debug box= ;;
	tests/unit/*/*) where=unit box=${f#tests/unit/} box=${box%%/*} ;;
	tests/*) where=test box= ;;
	*) return 0 ;;
	esac
	if [ "$where" = box ] && ! is_box "$box"; then
		bad "$f" 1 "hakmem/$box/ is not a box of DESIGN.md's table"
		return 0
	fi

	while IFS=: read -r lineno inc; do
		inc=${inc#*\"}
		inc=${inc%%\"*}
		target=$(resolve "$f" "$inc")
		tname=$(basename "$target")
		case $target in
		hakmem/*/*) tbox=${target#hakmem/} tbox=${tbox%%/*} ;;
		*) tbox= ;;
		esac

		# *_internal.h: only its own box (and that box's unit tests)
		if [ -n "$tbox" ] && [[ $tname == *_internal.h ]]; then
			if [ "$box" != "$tbox" ] ||
				{ [ "$where" != box ] && [ "$where" != unit ]; }; then
				bad "$f" "$lineno" "includes $target: an _internal.h is private to hakmem/$tbox/"
			fi
			continue
		fi
		case $where in unit | test) continue ;; esac

		ok=0
		case $where:$target in
		*:hakmem/hak_internal.h | *:hakmem/hak_lock.h | *:hakmem/hak_track.h) ok=1 ;;
		box:debug/hooks.h) ok=1 ;;
		box:hakmem/"$box"/*) ok=1 ;;
		top:hakmem/* | top:debug/*.h | top:include/hakmem.h) ok=1 ;;
		debug:debug/* | debug:include/hakmem.h) ok=1 ;;
		esac
		if [ "$ok" = 0 ] && [ -n "$tbox" ] &&
			[ "$target" = "hakmem/$tbox/$tbox.h" ]; then
			case $where in
			top | debug) ok=1 ;;
			box)
				for b in $(below "$box"); do
					[ "$b" = "$tbox" ] && ok=1
				done
				;;
			esac
		fi
		if [ "$ok" = 0 ] && [ "${target#/}" = "$target" ] &&
			[ ! -f "$target" ]; then
			# not a file of ours (a system header in quotes): not ours
			# to police
			continue
		fi
		if [ "$ok" = 0 ]; then
			case $where in
			box)
				allowed="hakmem/$box/*"
				for b in $(below "$box"); do
					allowed="$allowed, $b/$b.h"
				done
				bad "$f" "$lineno" "box $box includes $target; it may include $allowed, hak_internal.h, hak_lock.h, hak_track.h, debug/hooks.h"
				;;
			*) bad "$f" "$lineno" "includes $target across a boundary" ;;
			esac
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
}

self_test() {
	local here out
	here=$(cd "$(dirname "$0")/.." && pwd)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-includes.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	cp -r "$here/hakmem" "$here/include" "$tmp/"
	[ -d "$here/debug" ] && cp -r "$here/debug" "$tmp/"
	mkdir -p "$tmp/tests"
	[ -d "$here/tests/unit" ] && cp -r "$here/tests/unit" "$tmp/tests/"

	if ! out=$("$0" "$tmp" 2>&1); then
		echo "check-includes self-test: FAIL: the clean tree fails:" >&2
		echo "$out" >&2
		return 1
	fi
	# each wrong include, alone, must be caught, naming the file
	local -a cases=(
		'hakmem/os/os.c|#include "tiny/tiny.h"|os includes a box above it'
		'hakmem/registry/registry.c|#include "superslab/superslab.h"|registry includes superslab'
		'hakmem/large/large.c|#include "tiny/tiny.h"|large includes tiny'
		'hakmem/superslab/superslab.c|#include "api.h"|a box includes hakmem/api.h'
		'hakmem/tiny/heap.c|#include "debug/debug.h"|a box includes debug/ past hooks.h'
		'hakmem/api.c|#include "superslab/superslab_internal.h"|an _internal.h outside its box'
	)
	local c file line why
	for c in "${cases[@]}"; do
		IFS='|' read -r file line why <<<"$c"
		[ -f "$tmp/$file" ] || { echo "self-test: $file missing" >&2; return 1; }
		cp "$tmp/$file" "$tmp/$file.orig"
		# an _internal.h must exist to be resolved as ours
		mkdir -p "$tmp/hakmem/superslab"
		: >"$tmp/hakmem/superslab/superslab_internal.h"
		echo "$line" >>"$tmp/$file"
		if out=$("$0" "$tmp" 2>&1); then
			echo "check-includes self-test: FAIL: not caught: $why ($file: $line)" >&2
			return 1
		fi
		if ! grep -q "^$file:" <<<"$out"; then
			echo "check-includes self-test: FAIL: $why: report does not name $file:" >&2
			echo "$out" >&2
			return 1
		fi
		echo "check-includes self-test: caught: $why: $(grep -m1 "^$file:" <<<"$out")"
		mv "$tmp/$file.orig" "$tmp/$file"
		rm -f "$tmp/hakmem/superslab/superslab_internal.h"
	done
	echo "check-includes self-test: ${#cases[@]} wrong includes caught, clean tree passes"
}

if [ "${1:-}" = --self-test ]; then
	self_test
	exit
fi

root=${1:-$(dirname "$0")/..}
cd "$root"
nfiles=0
while IFS= read -r -d '' f; do
	check_file "${f#./}"
	nfiles=$((nfiles + 1))
done < <(find hakmem debug tests -type f \( -name '*.c' -o -name '*.h' -o -name '*.cc' \) -print0 2>/dev/null | sort -z)

if [ "$violations" -ne 0 ]; then
	echo "check-includes: $violations include(s) cross a box boundary (DESIGN.md)" >&2
	exit 1
fi
echo "check-includes: $nfiles files, box boundaries respected"
