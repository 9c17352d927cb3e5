// SPDX-License-Identifier: MIT
/*
 * tiny/class.c - the tables derived from TINY_CLASS_SIZE().  Built at
 * compile time so that a malloc re-entered during start-up needs no init.
 */
#include "tiny/tiny.h"

/* class of the sizes (16(i-1), 16i], i.e. of 16i (0 for i == 0) */
#define S1(i)		TINY_CLASS_OF(16 * (i))
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

HAK_BUILD_BUG_ON(sizeof(hak_tiny_small_class) / sizeof(uint8_t) != TINY_NDIRECT);
HAK_BUILD_BUG_ON(TINY_NDIRECT != 64 + 1);	/* S16 x 4 + S1 above */
HAK_BUILD_BUG_ON(TINY_NCLASS != 48);		/* Z16 x 3 above */

/*
 * The inverse inverts the formula: at every class boundary the largest size
 * of class c maps to c, one byte more to c + 1, and class sizes grow in
 * TINY_ALIGN steps.  With both formulas monotone, that is every size.
 */
#define INV1(c)								\
	HAK_BUILD_BUG_ON(TINY_CLASS_OF(TINY_CLASS_SIZE(c)) != (c));	\
	HAK_BUILD_BUG_ON((c) + 1 < TINY_NCLASS &&			\
			 TINY_CLASS_OF(TINY_CLASS_SIZE(c) + 1) != (c) + 1); \
	HAK_BUILD_BUG_ON(TINY_CLASS_SIZE(c) % TINY_ALIGN)
#define INV4(c)		INV1(c); INV1(c + 1); INV1(c + 2); INV1(c + 3)
#define INV16(c)	INV4(c); INV4(c + 4); INV4(c + 8); INV4(c + 12)
INV16(0);
INV16(16);
INV16(32);

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
