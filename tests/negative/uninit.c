// SPDX-License-Identifier: MIT
/*
 * uninit.c - branches on a byte of a fresh hakmem block that nobody wrote.
 * valgrind: MALLOCLIKE_BLOCK marks malloc'd memory undefined, so memcheck
 * says "Conditional jump or move depends on uninitialised value(s)".
 */
#include "neg.h"

int main(void)
{
	char *p = malloc(64);

	neg_prove("uninit", p);
	p[0] = 1;
	neg_say("negative: uninit: testing byte 10 of %p, never written\n",
		(void *)p);
	if (neg_launder(p)[10] == 42)	/* the bug: a jump on it */
		neg_say("negative: uninit: byte 10 is 42\n");
	else
		neg_say("negative: uninit: byte 10 is not 42\n");
	free(p);
	return 0;
}
