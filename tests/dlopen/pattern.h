/* SPDX-License-Identifier: MIT */
/*
 * pattern.h - what tests/dlopen/host.c and plugin.c write into the blocks
 * they exchange, and the sizes they use: both sides compute the same.
 */
#ifndef HAK_TESTS_DLOPEN_PATTERN_H
#define HAK_TESTS_DLOPEN_PATTERN_H

#include <stddef.h>

static inline unsigned char pattern_byte(size_t i, unsigned seed)
{
	return (unsigned char)((i * 131u + seed * 7u) ^ (i >> 8));
}

/* fill - write the pattern of @seed over the first bytes of the block and
 * at its end (all of it when small); check - 0 if it is still there */
static inline void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i += (i < 256 || n - i <= 256) ? 1 : 4093)
		p[i] = pattern_byte(i, seed);
}

static inline int check(const void *v, size_t n, unsigned seed)
{
	const unsigned char *p = v;

	for (size_t i = 0; i < n; i += (i < 256 || n - i <= 256) ? 1 : 4093)
		if (p[i] != pattern_byte(i, seed))
			return 1;
	return 0;
}

/* size_for - the @i-th size of a run: mostly small, some mid, a few large */
static inline size_t size_for(size_t i, unsigned seed)
{
	size_t r = (i * 2654435761u + seed) % 1000;

	if (r < 850)
		return 1 + r % 512;
	if (r < 990)
		return 1024 + (r - 850) * 250;	/* up to 36 KiB */
	return 150000 + (r - 990) * 5000;	/* above 128 KiB: large path */
}

#endif /* HAK_TESTS_DLOPEN_PATTERN_H */
