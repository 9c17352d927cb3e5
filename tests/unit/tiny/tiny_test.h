/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/tiny/tiny_test.h - what tiny's white-box unit tests share:
 * the slab of a block, a free through the tiny fast path, and a class's
 * event counter (HAKMEM_STATS=1).
 */
#ifndef HAK_TESTS_TINY_TEST_H
#define HAK_TESTS_TINY_TEST_H

#include <string.h>

#include "tiny/tiny_internal.h"

static inline struct hak_slab *slab_of(void *p)
{
	return hak_ss_slab_of((uintptr_t)p,
			      hak_ss_kind_shift(hak_reg_kind((uintptr_t)p)));
}

static inline void tfree(void *p)
{
	hak_tiny_free(p, hak_ss_kind_shift(hak_reg_kind((uintptr_t)p)));
}

static inline uint64_t stat_of(unsigned c, enum hak_tiny_stat k)
{
	static uint64_t st[TINY_NCLASS][TS_NSTAT];

	memset(st, 0, sizeof(st));
	hak_tiny_stats_sum(st);
	return st[c][k];
}

#endif /* HAK_TESTS_TINY_TEST_H */
