// SPDX-License-Identifier: MIT
/*
 * double_free.c - frees a hakmem block twice.  hakmem diagnoses it in every
 * flavour; failfast: one line naming the check, then abort; asan-preload:
 * hakmem's line and an ASan error report; valgrind: "Invalid free()".
 */
#include "neg.h"

static void *volatile again;	/* the compiler must not see it is p */

int main(void)
{
	char *p = malloc(48);

	neg_prove("double_free", p);
	p[0] = 1;
	again = p;
	free(p);
	neg_say("negative: double_free: freeing %p again\n", again);
	free(again);		/* the bug */
	return 0;
}
