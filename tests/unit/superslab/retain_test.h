/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/superslab/retain_test.h - what the empty-chunk cache's tests
 * (retain.c, burst.c) share: the cache's state in one call, and a sleep.
 */
#ifndef HAK_TESTS_SUPERSLAB_RETAIN_TEST_H
#define HAK_TESTS_SUPERSLAB_RETAIN_TEST_H

#include <time.h>

#include "superslab/superslab.h"

/* whole-chunk slabs: every release empties a chunk */
#define BIG	SS_MAX_SLAB_SHIFT

static inline struct hak_ss_retain now(void)
{
	struct hak_ss_retain r;

	hak_ss_retain_get(&r);
	return r;
}

static inline void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

#endif /* HAK_TESTS_SUPERSLAB_RETAIN_TEST_H */
