// SPDX-License-Identifier: MIT
/*
 * tiny/class.c - the tables derived from TINY_CLASS_SIZE().  Built at
 * compile time so that a malloc re-entered during start-up needs no init.
 */
#include "tiny/tiny.h"

/*
 * class of n for n in (16(i-1), 16i], i.e. of 16i (0 for i == 0).  The
 * second branch works on ABOVE(n) == n - 1 (n > 128): clang checks shift
 * counts and conversions of constants in unused branches too, where 128
 * keeps them in range.
 */
#define LOG2(x)		(63 - __builtin_clzl((unsigned long)(x)))
#define ABOVE(n)	((n) > 128 ? (n) - 1 : 128)
#define CLS_OF(n)	((n) <= 128 ? ((n) ? ((n) - 1) / 16 : 0) :	\
			 8 + (LOG2(ABOVE(n)) - 7) * 4 +			\
			 ((ABOVE(n) >> (LOG2(ABOVE(n)) - 2)) & 3))
#define S1(i)		CLS_OF(16 * (i))
#define S4(i)		S1(i), S1(i + 1), S1(i + 2), S1(i + 3)
#define S16(i)		S4(i), S4(i + 4), S4(i + 8), S4(i + 12)

const uint8_t hak_tiny_small_class[TINY_SMALL_MAX / TINY_ALIGN + 1] = {
	S16(0), S16(16), S16(32), S16(48), S1(64)
};

#define Z1(c)		TINY_CLASS_SIZE(c)
#define Z4(c)		Z1(c), Z1(c + 1), Z1(c + 2), Z1(c + 3)
#define Z16(c)		Z4(c), Z4(c + 4), Z4(c + 8), Z4(c + 12)

const uint32_t hak_tiny_class_size[TINY_NCLASS] = {
	Z16(0), Z16(16), Z16(32)
};

HAK_BUILD_BUG_ON(TINY_CLASS_SIZE(TINY_NCLASS - 1) != TINY_MAX);
HAK_BUILD_BUG_ON(TINY_CLASS_SIZE(19) != TINY_SMALL_MAX);
HAK_BUILD_BUG_ON(CLS_OF(TINY_SMALL_MAX) != 19);

/*
 * hak_tiny_class_shift - span of the class's slabs: the smallest
 * power of two >= 64 KiB that holds at least 16 blocks (capped at 2 MiB,
 * where slab 0's 15 blocks of 128 KiB are the floor).
 */
unsigned hak_tiny_class_shift(unsigned cls)
{
	size_t want = 16 * (size_t)hak_tiny_class_size[cls];
	unsigned shift = SS_MIN_SLAB_SHIFT;

	while (shift < SS_MAX_SLAB_SHIFT && ((size_t)1 << shift) < want)
		shift++;
	return shift;
}
