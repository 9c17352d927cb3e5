// SPDX-License-Identifier: MIT
/*
 * unit/tiny/sizeclass.c - the class table is one consistent source of truth:
 * every request maps to the smallest class that fits, classes grow
 * strictly, stay 16-byte multiples, and each class's slab span holds enough
 * blocks.
 */
#include "helpers.h"
#include "superslab/superslab.h"
#include "tiny/tiny.h"

int main(void)
{
	unsigned prev = 0;

	for (unsigned c = 0; c < TINY_NCLASS; c++) {
		unsigned sz = hak_tiny_class_size[c];
		unsigned shift = hak_tiny_class_shift(c);
		size_t span = (size_t)1 << shift;

		CHECK(sz == TINY_CLASS_SIZE(c), "class %u table %u formula %u",
		      c, sz, TINY_CLASS_SIZE(c));
		CHECK(sz > prev, "class %u size %u not above %u", c, sz, prev);
		CHECK(sz % TINY_ALIGN == 0, "class %u size %u not 16-aligned",
		      c, sz);
		CHECK(shift >= SS_MIN_SLAB_SHIFT && shift <= SS_MAX_SLAB_SHIFT,
		      "class %u shift %u", c, shift);
		/* slab 0 is the shortest: it must still hold >= 8 blocks */
		CHECK((span - SS_HDR) / sz >= 8, "class %u: slab 0 holds %zu",
		      c, (span - SS_HDR) / sz);
		CHECK(span >= 16 * (size_t)sz || shift == SS_MAX_SLAB_SHIFT,
		      "class %u: span %zu < 16 blocks of %u", c, span, sz);
		prev = sz;
	}
	CHECK(hak_tiny_class_size[TINY_NCLASS - 1] == TINY_MAX, "last class %u",
	      hak_tiny_class_size[TINY_NCLASS - 1]);

	for (size_t n = 0; n <= TINY_MAX; n++) {
		unsigned c = hak_tiny_class(n);

		if (c >= TINY_NCLASS) {
			CHECK(c < TINY_NCLASS, "n=%zu class %u", n, c);
			break;
		}
		CHECK(hak_tiny_class_size[c] >= n, "n=%zu class %u size %u", n,
		      c, hak_tiny_class_size[c]);
		CHECK(c == 0 || hak_tiny_class_size[c - 1] < n,
		      "n=%zu: class %u but %u (size %u) fits", n, c, c - 1,
		      hak_tiny_class_size[c - 1]);
	}
	/* the compile-time inverse (class.c's tables) is the run-time one */
	for (size_t n = 0; n <= TINY_MAX; n++)
		if (!CHECK(TINY_CLASS_OF(n) == (n ? hak_tiny_class(n) : 0),
			   "n=%zu TINY_CLASS_OF %u hak_tiny_class %u", n,
			   TINY_CLASS_OF(n), hak_tiny_class(n)))
			break;
	CHECK(TINY_CLASS_SIZE(TINY_NSMALL - 1) == TINY_SMALL_MAX &&
	      hak_tiny_class(TINY_SMALL_MAX + 1) == TINY_NSMALL,
	      "the direct table ends at a class boundary");
	/* the lookup table and the formula agree where both apply */
	for (size_t n = 129; n <= TINY_SMALL_MAX; n++)
		CHECK(hak_tiny_small_class[(n + 15) / 16] ==
		      hak_tiny_class_big(((n + 15) / 16) * 16),
		      "n=%zu table %u formula %u", n,
		      hak_tiny_small_class[(n + 15) / 16],
		      hak_tiny_class_big(((n + 15) / 16) * 16));
	return t_result();
}
