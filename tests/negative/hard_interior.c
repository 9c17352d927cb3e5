// SPDX-License-Identifier: MIT
/*
 * hard_interior.c MODE - frees (or asks the size of) an address that is no
 * block start, release hardening (issue 13): the release build must name
 * it and abort, where it once handed the address out again.
 *
 *   64+16 64+1 4000+16 4000+1  free(p + off) of a live block of that size
 *   meta                        free() of an address in the chunk header
 *   usable                      malloc_usable_size(p + 8)
 *
 * Before the fix the free was accepted; the program then shows the damage
 * (the next malloc of the class returns the bad address) and exits 0.
 */
#include <malloc.h>
#include <stdint.h>

#include "neg.h"

static void *volatile victim;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "64+16";
	size_t size = strtoul(mode, NULL, 10), off;
	char *p, *q;

	if (!strcmp(mode, "meta") || !strcmp(mode, "usable"))
		size = 64;
	p = malloc(size);
	neg_prove("hard_interior", p);
	memset(p, 0x5a, size);
	if (!strcmp(mode, "usable")) {
		neg_say("negative: hard_interior: malloc_usable_size(%p)\n",
			p + 8);
		neg_say("negative: hard_interior: got %zu\n",
			malloc_usable_size(neg_launder(p + 8)));
		return 0;
	}
	if (!strcmp(mode, "meta")) {
		/* the chunk header: the first 2 MiB-aligned address below */
		victim = (char *)((uintptr_t)p & ~(uintptr_t)0x1fffff) + 256;
	} else {
		off = strtoul(strchr(mode, '+') + 1, NULL, 10);
		victim = p + off;
	}
	neg_say("negative: hard_interior: freeing %p (block %p)\n", victim,
		(void *)p);
	free(victim);		/* the bug */
	q = malloc(size ? size : 1);
	neg_say("negative: hard_interior: NOT CAUGHT: the next malloc "
		"returned %p%s\n", (void *)q, q == victim ?
		" (the freed address)" : "");
	return 0;
}
