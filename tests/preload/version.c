// SPDX-License-Identifier: MIT
/*
 * version.c - print "hakmem VERSION" from the preloaded library's
 * hak_version() (found with dlsym: the program links libc only), for
 * tests/preload/launcher.sh; exit 1 when no hakmem is loaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int main(void)
{
	const char *(*version)(void) = (const char *(*)(void))dlsym(
		RTLD_DEFAULT, "hak_version");

	if (!version) {
		fprintf(stderr, "hak_version not found: hakmem not loaded\n");
		return 1;
	}
	printf("hakmem %s\n", version());
	return 0;
}
