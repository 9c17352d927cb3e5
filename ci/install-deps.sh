#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# install-deps.sh - install what building, testing and linting every
# flavour needs, with apt-get, when it is missing (idempotent: a machine
# that has it all installs nothing).  Debian 12 package names.
#
#   ci/install-deps.sh          (as root; otherwise it names what is missing)
#
# gcc/g++/make: the build; clang + libclang-rt-dev: CC=clang and its
# sanitizer runtimes; valgrind: the valgrind flavour (and its headers);
# python3 + coreutils/gzip/mawk: tests/preload; libmimalloc2.0: the
# yardstick of `make larson-run`; shellcheck and npm: `make lint`;
# debhelper + dpkg-dev + lintian + pkgconf: `make deb` and
# tests/install/deb.sh; google-perftools: google-pprof for
# tests/preload/profile.sh.
#
# Under CI (CI=true or GITHUB_ACTIONS=true) it also lowers
# vm.mmap_rnd_bits to 28 when the kernel uses more (Ubuntu 24.04 hosts use
# 32): the ASan and TSan runtimes of gcc 12 and clang 14 fail to map their
# shadow memory above 28 bits of mmap randomisation.
set -euo pipefail

packages=(gcc g++ make libc6-dev clang libclang-rt-dev valgrind python3
	libmimalloc2.0 shellcheck coreutils gzip mawk git ca-certificates
	debhelper dpkg-dev lintian pkgconf google-perftools)
# npm: Debian's, unless some other npm (nodesource's nodejs) is there
command -v npm >/dev/null || packages+=(npm)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
		grep -q 'install ok installed'
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "install-deps: not root: install ${missing[*]} yourself" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q --no-install-recommends "${missing[@]}" ||
		{ apt-get update -q &&
			apt-get install -y -q --no-install-recommends "${missing[@]}"; }
else
	echo "install-deps: all ${#packages[@]} packages present"
fi

if [ "${CI:-}" = true ] || [ "${GITHUB_ACTIONS:-}" = true ]; then
	bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)
	if [ "$bits" -gt 28 ]; then
		if echo 28 2>/dev/null >/proc/sys/vm/mmap_rnd_bits; then
			echo "install-deps: vm.mmap_rnd_bits $bits -> 28 (sanitizer shadow memory)"
		else
			echo "install-deps: vm.mmap_rnd_bits is $bits and cannot be lowered:" \
				"asan/tsan runs may fail to start" >&2
		fi
	fi
fi
