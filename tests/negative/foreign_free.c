// SPDX-License-Identifier: MIT
/*
 * foreign_free.c - frees a pointer hakmem never handed out: the middle of
 * a static array.  hakmem's registry says it is not ours, so it is never
 * dereferenced; failfast: hakmem's one-line "invalid pointer" message, then
 * abort.
 */
#include "neg.h"

static char not_ours[4096];
static void *volatile victim;

int main(void)
{
	char *p = malloc(32);

	neg_prove("foreign_free", p);	/* hakmem is the allocator here */
	free(p);
	victim = not_ours + 2048;
	neg_say("negative: foreign_free: freeing %p, a static array\n",
		victim);
	free(victim);		/* the bug */
	return 0;
}
