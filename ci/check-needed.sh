#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-needed.sh - the release libhakmem.so needs libc and nothing else:
# the NEEDED entries of its dynamic section are libc.so.6 and, if the
# linker adds it, the dynamic loader (ld-linux*).  A preloaded library's
# dependencies are loaded into every process, profiling or not: libgcc_s,
# which only the heap profiler uses, cost each one ~90 KiB resident and the
# loader's work, so debug/profile.c loads it at run time instead.
#
#   ci/check-needed.sh LIB        check LIB (`make check-needed`: the
#                                 release build's)
#   ci/check-needed.sh --self-test
#                                 prove the check fails on a library that
#                                 calls libgcc_s's unwinder and passes one
#                                 that calls only libc (both built in a
#                                 temporary directory with $CC)
set -euo pipefail

# check LIB - "check-needed: ..." and 0 when LIB needs only libc
check() {
	local lib=$1 needed extra
	needed=$(readelf -dW "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
	[ -n "$needed" ] || { echo "check-needed: $lib: no NEEDED entry (not a shared library?)" >&2; return 1; }
	extra=$(grep -Ev '^(libc\.so\.6|ld-linux[-a-z0-9_.]*\.so\.[0-9]+)$' <<<"$needed" || true)
	if [ -n "$extra" ]; then
		echo "check-needed: $lib needs more than libc: ${extra//$'\n'/ }" >&2
		return 1
	fi
	echo "check-needed: $lib needs only ${needed//$'\n'/ }"
}

if [ "${1:-}" = --self-test ]; then
	cc=${CC:-gcc}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cat >"$tmp/unw.c" <<'C'
#include <unwind.h>
static _Unwind_Reason_Code f(struct _Unwind_Context *c, void *a) { return _URC_NO_REASON; }
int walk(void) { return _Unwind_Backtrace(f, 0); }
C
	printf '#include <stdio.h>\nint plain(void) { return puts("x"); }\n' >"$tmp/plain.c"
	"$cc" -shared -fPIC -o "$tmp/libunw.so" "$tmp/unw.c"
	"$cc" -shared -fPIC -o "$tmp/libplain.so" "$tmp/plain.c"
	if check "$tmp/libunw.so" 2>/dev/null; then
		echo "check-needed: self-test: a library that needs libgcc_s passed" >&2
		exit 1
	fi
	check "$tmp/libplain.so" >/dev/null ||
		{ echo "check-needed: self-test: a libc-only library failed" >&2; exit 1; }
	echo "check-needed: self-test: fails on libgcc_s, passes libc only"
	exit 0
fi

[ $# -eq 1 ] || { echo "usage: $0 LIB | --self-test" >&2; exit 2; }
check "$1"
