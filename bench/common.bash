# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# common.bash - sourced by bench/larson-run.sh and bench/tiny-hot-run.sh:
# what both do before and around their runs of one program under hakmem,
# glibc and mimalloc.
#
#   hakmem    LD_PRELOAD=BUILD_DIR/libhakmem.so
#   glibc     no preload
#   mimalloc  LD_PRELOAD of Debian's libmimalloc2.0 (installed with apt-get
#             when missing and we are root; skipped with a note otherwise)

# br_init NAME BUILD_DIR PROG - check BUILD_DIR/bench/PROG and the library
# (exit 1 when missing) and make $BR_TMP (removed at exit).  Sets BR_NAME,
# BR_PROG, BR_LIB (absolute: LD_PRELOAD wants no relative path), BR_TMP and
# BR_NAMES: hakmem glibc, and mimalloc when it can be had (BR_MIMALLOC).
br_init() {
	local f

	BR_NAME=$1
	BR_PROG=$2/bench/$3
	BR_LIB=$2/libhakmem.so
	for f in "$BR_PROG" "$BR_LIB"; do
		if [ ! -e "$f" ]; then
			echo "$BR_NAME: $f missing (make benches FLAVOUR=...)" >&2
			exit 1
		fi
	done
	BR_LIB=$(cd "$2" && pwd)/libhakmem.so
	BR_TMP=$(mktemp -d)
	trap 'rm -rf "$BR_TMP"' EXIT
	BR_NAMES=(hakmem glibc)
	BR_MIMALLOC=$(br_find_mimalloc)
	if [ -n "$BR_MIMALLOC" ]; then
		BR_NAMES+=(mimalloc)
	else
		echo "$BR_NAME: mimalloc not available; no mimalloc column" >&2
	fi
}

# br_find_mimalloc - print the path of libmimalloc.so.2, installing it if
# needed; nothing when it cannot be had.
br_find_mimalloc() {
	local so=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2 f

	if ! dpkg-query -W -f='${Status}' libmimalloc2.0 2>/dev/null |
		grep -q 'install ok installed' &&
		[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "$BR_NAME: installing libmimalloc2.0" >&2
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q libmimalloc2.0 >/dev/null 2>&1 ||
			{ apt-get update -q >/dev/null 2>&1 &&
				apt-get install -y -q libmimalloc2.0 >/dev/null 2>&1; } ||
			echo "$BR_NAME: apt-get could not install libmimalloc2.0" >&2
	fi
	if command -v dpkg >/dev/null; then
		f=$(dpkg -L libmimalloc2.0 2>/dev/null |
			grep -m1 '/libmimalloc\.so\.[0-9]*$' || true)
		[ -n "$f" ] && so=$f
	fi
	if [ -e "$so" ]; then
		echo "$so"
	fi
}

# br_env ALLOCATOR - set BR_ENV to the VAR=VALUE words that run a program
# under ALLOCATOR (one of $BR_NAMES), for env(1).
# shellcheck disable=SC2034 # BR_ENV is for the caller
br_env() {
	case $1 in
	hakmem) BR_ENV=(LD_PRELOAD="$BR_LIB") ;;
	glibc) BR_ENV=() ;;
	mimalloc) BR_ENV=(LD_PRELOAD="$BR_MIMALLOC") ;;
	esac
}
