// SPDX-License-Identifier: MIT
/*
 * misaligned.c - loads an int from an odd address inside a hakmem block.
 * ubsan-mailbox: "runtime error: load of misaligned address".
 */
#include "neg.h"

int main(void)
{
	char *p = malloc(64);
	int v;

	neg_prove("misaligned", p);
	memset(p, 1, 64);
	neg_say("negative: misaligned: loading an int at %p\n",
		(void *)(p + 1));
	v = *(int *)neg_launder(p + 1);		/* the bug */
	free(p);
	return v == 42;
}
