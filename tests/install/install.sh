#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# install.sh BUILD_DIR - `make install` and `make uninstall` of BUILD_DIR's
# flavour (its last path component), built afresh in a temporary O= so that
# nothing of BUILD_DIR is touched, with PREFIX=/opt/hakmem-test and a
# temporary DESTDIR.  Then, through pkg-config (PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR pointing into DESTDIR), tests/install/owns.c is
# built and run three ways, with the compiler that built BUILD_DIR (a
# sanitizer flavour's hakmem.pc names that compiler's sanitizer runtime),
# and must print hak_owns=1 for every block:
#   dynamic       $(pkg-config --cflags --libs hakmem), run with
#                 LD_LIBRARY_PATH; ldd must name the installed .so
#   static        libhakmem.a linked in (-Wl,-Bstatic ... --static --libs),
#                 libc still shared; ldd must not name libhakmem
#   all-static    cc -static $(pkg-config --static --cflags --libs hakmem)
#                 (only when the C library's libc.a is installed, and
#                 a sanitizer flavour's runtime runs in a static program)
# The installed files: the versioned library with its soname and two
# symlinks, the launcher and both man pages naming the Makefile's version,
# which hak_version() reports too (owns.c prints it).
# Last, make uninstall must leave no file behind (directories may stay).
# tests/preload/install.sh runs it, so `make test` does.
#
#   exit 0 pass, 1 fail, 77 skip
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../preload/common.bash disable=SC1091
. "$here/../preload/common.bash"

pl_init install "${1:-}"
pl_need pkgconf
read -r -a compilers < <(pl_compilers) || true
cc=cc
for c in ${compilers[@]+"${compilers[@]}"}; do
	case $c in CC=*) cc=${c#CC=} ;; esac
done
for t in make "$cc" pkg-config; do
	command -v "$t" >/dev/null || pl_skip "no $t"
done
src=$(cd "$here/../.." && pwd)
flavour=$(basename "$PL_BUILD")
prefix=/opt/hakmem-test
dest=$PL_TMP/dest
mk=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -C "$src"
	--no-print-directory O="$PL_TMP/o" FLAVOUR="$flavour" PREFIX="$prefix"
	DESTDIR="$dest" ${compilers[@]+"${compilers[@]}"})

"${mk[@]}" install >"$PL_TMP/install.log" 2>&1 ||
	{ tail -n 20 "$PL_TMP/install.log" >&2; pl_fail "make install failed"; }
version=$(sed -n 's/^HAK_VERSION := //p' "$src/Makefile")
files=(lib/libhakmem.so."$version" lib/libhakmem.so.0 lib/libhakmem.so
	lib/libhakmem.a include/hakmem.h lib/pkgconfig/hakmem.pc
	share/man/man3/hakmem.3 bin/hakmem share/man/man1/hakmem.1)
for f in "${files[@]}"; do
	[ -f "$dest$prefix/$f" ] || pl_fail "make install did not install $prefix/$f"
done
# the soname, and the two symlinks that lead to the one file
if [ "$(readlink "$dest$prefix/lib/libhakmem.so.0")" != "libhakmem.so.$version" ] ||
	[ "$(readlink "$dest$prefix/lib/libhakmem.so")" != libhakmem.so.0 ]; then
	pl_fail "libhakmem.so -> libhakmem.so.0 -> libhakmem.so.$version symlinks wrong"
fi
readelf -d "$dest$prefix/lib/libhakmem.so.$version" | grep -q 'SONAME.*\[libhakmem\.so\.0\]' ||
	pl_fail "the installed library's soname is not libhakmem.so.0"
grep -q "hakmem $version" "$dest$prefix/share/man/man1/hakmem.1" ||
	pl_fail "hakmem.1 does not name version $version"
[ "$("$dest$prefix/bin/hakmem" --version | head -n 1)" = "hakmem $version" ] ||
	pl_fail "the installed launcher does not say hakmem $version"
got=$(cd "$dest" && find . ! -type d | sort | sed 's|^\.||')
want=$(printf "$prefix/%s\n" "${files[@]}" | sort)
[ "$got" = "$want" ] || pl_fail "make install installed other files: $got"
echo "$PL_NAME: make install: ${#files[@]} files under DESTDIR$prefix"

export PKG_CONFIG_PATH=$dest$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
export PKG_CONFIG_LIBDIR=$PKG_CONFIG_PATH	# nothing of the system's
pc_ver=$(pkg-config --modversion hakmem) || pl_fail "pkg-config cannot find hakmem"
grep -qx "prefix=$prefix" "$dest$prefix/lib/pkgconfig/hakmem.pc" ||
	pl_fail "hakmem.pc does not say prefix=$prefix"
echo "$PL_NAME: pkg-config: hakmem $pc_ver:" \
	"$(pkg-config --cflags --libs hakmem) | --static: $(pkg-config --static --libs hakmem)"
cd "$PL_TMP"

# run NAME - run ./NAME, every line must say hak_owns=1
run() {
	local rc=0
	env "$@" >"$PL_TMP/run.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || grep -q 'hak_owns=0' "$PL_TMP/run.out" ||
		! grep -q 'hak_owns=1' "$PL_TMP/run.out"; then
		cat "$PL_TMP/run.out" >&2
		pl_fail "$*: exit $rc, not every block hakmem's"
	fi
}

# shellcheck disable=SC2046 # pkg-config's output is words
"$cc" -o dyn "$here/owns.c" $(pkg-config --cflags --libs hakmem) -pthread ||
	pl_fail "dynamic link against the installed hakmem failed"
# ldd's whole output first: `ldd | grep -q` under pipefail fails when
# grep exits early and ldd gets SIGPIPE
deps=$(LD_LIBRARY_PATH=$dest$prefix/lib ldd ./dyn)
grep -q "libhakmem.so.0 => $dest$prefix/lib/libhakmem.so.0" <<<"$deps" ||
	{ LD_LIBRARY_PATH=$dest$prefix/lib ldd ./dyn >&2; pl_fail "dyn does not load the installed libhakmem.so.0"; }
run LD_LIBRARY_PATH="$dest$prefix/lib" ./dyn
grep -qx "hakmem $version: chunks mapped" "$PL_TMP/run.out" ||
	pl_fail "hak_version() of the installed library is not $version"
echo "$PL_NAME: dynamic: $(grep -c 'hak_owns=1' run.out) blocks, all hakmem's"

# shellcheck disable=SC2046
"$cc" -o static "$here/owns.c" $(pkg-config --cflags hakmem) \
	-Wl,-Bstatic $(pkg-config --static --libs hakmem) -Wl,-Bdynamic ||
	pl_fail "static link of the installed libhakmem.a failed"
! ldd ./static | grep -q libhakmem || pl_fail "static still needs libhakmem.so"
run ./static
echo "$PL_NAME: static libhakmem.a: $(grep -c 'hak_owns=1' run.out) blocks, all hakmem's"

# a sanitizer runtime may not work in a static program (clang 14's UBSan
# runtime crashes in its own start-up there): tried on an empty program
san=()
for f in $(pkg-config --static --libs hakmem); do
	case $f in -fsanitize=* | -shared-libsan) san+=("$f") ;; esac
done
if [ ! -f "$("$cc" -print-file-name=libc.a)" ]; then
	echo "$PL_NAME: no libc.a: $cc -static not tried"
elif [ ${#san[@]} -gt 0 ] && ! { echo 'int main(void) { return 0; }' |
	"$cc" -static -o probe -x c - "${san[@]}" 2>/dev/null && ./probe; }; then
	echo "$PL_NAME: $cc -static ${san[*]}: no static program with this" \
		"sanitizer runtime links and runs; not tried"
else
	# shellcheck disable=SC2046
	"$cc" -static -o allstatic "$here/owns.c" \
		$(pkg-config --static --cflags --libs hakmem) 2>"$PL_TMP/cc.err" ||
		{ cat "$PL_TMP/cc.err" >&2; pl_fail "$cc -static against the installed hakmem failed"; }
	run ./allstatic
	echo "$PL_NAME: $cc -static: $(grep -c 'hak_owns=1' run.out) blocks, all hakmem's"
fi

"${mk[@]}" uninstall >"$PL_TMP/uninstall.log" 2>&1 ||
	{ tail -n 20 "$PL_TMP/uninstall.log" >&2; pl_fail "make uninstall failed"; }
left=$(cd "$dest" && find . ! -type d)
[ -z "$left" ] || pl_fail "make uninstall left: $left"
pl_pass "installed, built against with pkg-config three ways, uninstalled"
