// SPDX-License-Identifier: MIT
/*
 * interior_free.c - frees a pointer into the middle of a live hakmem
 * block: ours, but on no block boundary.  failfast: one line naming the
 * check, then abort.
 */
#include "neg.h"

static void *volatile victim;

int main(void)
{
	char *p = malloc(256);

	neg_prove("interior_free", p);
	victim = p + 40;
	neg_say("negative: interior_free: freeing %p, inside block %p\n",
		victim, (void *)p);
	free(victim);		/* the bug */
	return 0;
}
