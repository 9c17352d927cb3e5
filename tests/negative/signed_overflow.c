// SPDX-License-Identifier: MIT
/*
 * signed_overflow.c - adds two ints read from a hakmem block whose sum
 * does not fit.  ubsan-mailbox: "runtime error: signed integer overflow".
 */
#include <limits.h>

#include "neg.h"

int main(void)
{
	int *p = malloc(2 * sizeof(int));
	int sum;

	neg_prove("signed_overflow", p);
	p[0] = INT_MAX;
	p[1] = neg_launder(1);
	neg_say("negative: signed_overflow: %d + %d from block %p\n", p[0],
		p[1], (void *)p);
	sum = neg_launder(p)[0] + p[1];		/* the bug */
	free(p);
	return sum == 0;
}
