// SPDX-License-Identifier: MIT
/*
 * use_after_free.c - reads a hakmem block after freeing it.
 * asan-preload: hakmem poisons freed blocks ("use-after-poison");
 * valgrind: FREELIKE_BLOCK makes the read an "Invalid read".
 */
#include "neg.h"

int main(void)
{
	volatile char *p = malloc(64);

	neg_prove("use_after_free", (void *)p);
	p[0] = 1;
	free(neg_launder((char *)p));
	neg_say("negative: use_after_free: reading %p after free\n", (void *)p);
	return p[8] == 42;	/* the bug */
}
