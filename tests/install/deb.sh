#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deb.sh BUILD_DIR - the Debian packages, end to end, on this machine:
# `make deb` in a temporary O= (DEB_BUILD_OPTIONS=nocheck: the package's
# own test step runs the release tests, which `make test` runs anyway),
# then `apt-get install ./*.deb` of libhakmem0, libhakmem-dev and hakmem,
# and with them installed:
#   - a plain program under LD_PRELOAD=libhakmem.so.0 (the bare soname, as
#     the loader finds it) reports the Makefile's version via hak_version();
#   - tests/install/owns.c linked with $(pkg-config --cflags --libs hakmem)
#     loads /usr/lib/<multiarch>/libhakmem.so.0 and gets hakmem's blocks;
#   - the installed launcher: hakmem --version, hakmem --stats;
# last, `apt-get purge` removes them and no file of theirs is left.
# Root only (it installs packages), release flavour only (the packages
# are built once, from the release flavour); skipped, with the reason,
# otherwise, and when the packages are installed already (not ours to
# remove).  tests/preload/deb.sh runs it, so `make test` does.
#
#   exit 0 pass, 1 fail, 77 skip
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../preload/common.bash disable=SC1091
. "$here/../preload/common.bash"

pl_init deb "${1:-}"
[ "$(basename "$PL_BUILD")" = release ] ||
	pl_skip "the packages are built from the release flavour: run with build/release"
[ "$(id -u)" = 0 ] || pl_skip "not root: installing packages needs root"
if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
	pl_skip "no apt-get/dpkg: not a Debian system"
fi
src=$(cd "$here/../.." && pwd)
[ -d "$src/.git" ] || [ -f "$src/.git" ] || pl_skip "$src is not a git tree (make deb copies git's files)"
pkgs=(libhakmem0 libhakmem-dev hakmem)
for p in "${pkgs[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		pl_skip "$p is installed already: not removing someone's package"
	fi
done
pl_need debhelper dpkg-dev pkgconf gcc
version=$(sed -n 's/^HAK_VERSION := //p' "$src/Makefile")
build=$(cd "$PL_BUILD" && pwd)
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

rc=0
(cd "$src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	DEB_BUILD_OPTIONS=nocheck make --no-print-directory O="$PL_TMP/o" deb) \
	>"$PL_TMP/deb.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || { tail -n 30 "$PL_TMP/deb.log" >&2; pl_fail "make deb failed"; }
debs=()
for p in "${pkgs[@]}"; do
	f=$(find "$PL_TMP/o/deb" -maxdepth 1 -name "${p}_${version}_*.deb" | head -n 1)
	[ -n "$f" ] || pl_fail "make deb made no $p package of version $version"
	debs+=("$f")
done
echo "$PL_NAME: make deb: $(cd "$PL_TMP/o/deb" && echo *.deb)"

# from here on the packages may be installed: purge them on every exit
purge() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -q \
		-o DPkg::Lock::Timeout=120 "${pkgs[@]}" >"$PL_TMP/purge.log" 2>&1
}
trap 'purge || true; rm -rf "$PL_TMP"' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	-o DPkg::Lock::Timeout=120 "${debs[@]}" >"$PL_TMP/apt.log" 2>&1 ||
	{ tail -n 20 "$PL_TMP/apt.log" >&2; pl_fail "apt-get install ./*.deb failed"; }
lib=/usr/lib/$arch/libhakmem.so.0
[ -f "$lib" ] || pl_fail "$lib not installed"
echo "$PL_NAME: installed ${pkgs[*]}: $(readlink "$lib") ($lib)"

out=$(LD_PRELOAD=libhakmem.so.0 "$build/tests/preload/version") ||
	pl_fail "LD_PRELOAD=libhakmem.so.0: no hakmem in the program"
[ "$out" = "hakmem $version" ] || pl_fail "LD_PRELOAD=libhakmem.so.0: '$out', not 'hakmem $version'"
echo "$PL_NAME: LD_PRELOAD=libhakmem.so.0: $out"

cd "$PL_TMP"
# shellcheck disable=SC2046 # pkg-config's output is words
cc -o dyn "$here/owns.c" $(pkg-config --cflags --libs hakmem) -pthread ||
	pl_fail "cc \$(pkg-config --cflags --libs hakmem) failed"
deps=$(ldd ./dyn)
# /lib may be /usr/lib (merged /usr): compare where the paths lead
got=$(awk '$1 == "libhakmem.so.0" { print $3 }' <<<"$deps")
if [ -z "$got" ] || [ "$(readlink -f "$got")" != "$(readlink -f "$lib")" ]; then
	echo "$deps" >&2
	pl_fail "the program does not load $lib"
fi
./dyn >run.out 2>&1 || { cat run.out >&2; pl_fail "the pkg-config-linked program failed"; }
if grep -q 'hak_owns=0' run.out || ! grep -qx "hakmem $version: chunks mapped" run.out; then
	cat run.out >&2
	pl_fail "the pkg-config-linked program: not every block hakmem's"
fi
echo "$PL_NAME: pkg-config --libs hakmem: $(grep -c 'hak_owns=1' run.out) blocks, all hakmem's"

[ "$(hakmem --version | head -n 1)" = "hakmem $version" ] ||
	pl_fail "the installed launcher: $(hakmem --version)"
hakmem --stats "$build/tests/preload/version" >run.out 2>run.err ||
	pl_fail "hakmem --stats failed"
grep -q '^hakmem: mapped=' run.err || pl_fail "hakmem --stats: no stats line"
echo "$PL_NAME: launcher: $(hakmem --version | tr '\n' ' ')"

purge || { tail -n 20 "$PL_TMP/purge.log" >&2; pl_fail "apt-get purge failed"; }
for p in "${pkgs[@]}"; do
	! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		pl_fail "$p still installed after apt-get purge"
done
for f in "$lib" /usr/bin/hakmem /usr/include/hakmem.h; do
	[ ! -e "$f" ] || pl_fail "$f left after apt-get purge"
done
pl_pass "built, installed with apt-get, preloaded, linked with pkg-config, purged"
