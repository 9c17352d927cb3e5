// SPDX-License-Identifier: MIT
/*
 * overflow.c - writes past the end of a hakmem block, towards its
 * neighbour: 24 bytes asked, 40 written.  The tracked flavours keep a
 * poisoned redzone after the asked size.  asan-preload: an ASan report on
 * the first byte past the end; valgrind: "Invalid write".
 */
#include "neg.h"

int main(void)
{
	char *p = malloc(24);
	char *q = malloc(24);
	size_t n = neg_launder((size_t)24);

	neg_prove("overflow", p);
	neg_prove("overflow", q);
	neg_say("negative: overflow: writing %zu bytes into %zu-byte block %p "
		"(neighbour %p)\n", n + 16, n, (void *)p, (void *)q);
	for (size_t i = 0; i < n + 16; i++)	/* the bug */
		((volatile char *)p)[i] = 'x';
	free(q);
	free(p);
	return 0;
}
