// SPDX-License-Identifier: MIT
/*
 * tests/stress/hinted.c - remote frees come back to an owner that has
 * stopped allocating: its next free into a full slab acts on the remote
 * hints (hakmem/remote/README.md, "What bounds the wait").
 *
 * Usage: hinted.t [--smoke] [MiB]
 *   defaults: 64 MiB (32 under sanitizers/valgrind), --smoke 32 MiB.
 *
 *  1. main allocates MiB of 32 KiB blocks (its slabs of that class fill
 *     and go to its full list), then more 48 B blocks than one slab holds,
 *     so that the first 48 B slab is full too;
 *  2. a second thread checks and frees every 32 KiB block (remote frees:
 *     main is hinted) and exits;
 *  3. main, which allocates nothing more, frees the first 48 B block: a
 *     free into a full slab.
 * Asserted: after 3, mapped <= mapped before 1 + BOUND, BOUND = 16 MiB
 * (the empty-chunk cache, 4 x 2 MiB, main's current and spare slabs of
 * the 32 KiB class, the 48 B slabs); without the hint check on that free,
 * all of MiB stays mapped until main allocates a 32 KiB block again.
 * Every block's pattern is checked before it is freed.
 */
#include <pthread.h>

#include "stress.h"

#define BIG		(32 * S_KiB)
#define SMALL		48
#define NSMALL		4096		/* 192 KiB: more than one 48 B slab */
#define BOUND		(16 * S_MiB)

static void **big;
static size_t nbig;

static void *consume(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < nbig; i++) {
		long bad = s_check(big[i], BIG, s_key(big[i], BIG, i));

		if (bad >= 0)
			t_die("hinted: block %p corrupted at offset %ld", big[i],
			      bad);
		free(big[i]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *arg = t_arg(argc, argv, 1);
	size_t mib = arg ? strtoul(arg, NULL, 0) : (smoke || S_SLOW) ? 32 : 64;
	static void *small[NSMALL];
	struct hak_stats st0, st1, st2;
	pthread_t tid;

	if (mib < 8)
		t_die("usage: %s [--smoke] [MiB >= 8]", argv[0]);
	nbig = mib * S_MiB / BIG;
	big = s_table(nbig * sizeof(*big));
	s_warm();
	st0 = s_stats();
	for (size_t i = 0; i < nbig; i++) {
		big[i] = malloc(BIG);
		if (!big[i])
			t_die("hinted: malloc(%zu) failed", (size_t)BIG);
		s_fill(big[i], BIG, s_key(big[i], BIG, i));
	}
	for (size_t i = 0; i < NSMALL; i++) {
		small[i] = malloc(SMALL);
		if (!small[i])
			t_die("hinted: malloc(%d) failed", SMALL);
		s_fill(small[i], SMALL, s_key(small[i], SMALL, i));
	}
	st1 = s_stats();
	if (pthread_create(&tid, NULL, consume, NULL))
		t_die("hinted: pthread_create failed");
	pthread_join(tid, NULL);

	CHECK(s_check(small[0], SMALL, s_key(small[0], SMALL, 0)) < 0,
	      "48 B block 0 corrupted");
	free(small[0]);
	st2 = s_stats_idle(st0.mapped + BOUND);
	CHECK(st1.mapped >= st0.mapped + mib * S_MiB,
	      "the allocations did not happen? mapped %.1f MiB after, %.1f before",
	      s_mib(st1.mapped), s_mib(st0.mapped));
	CHECK(st2.mapped <= st0.mapped + BOUND,
	      "after another thread freed main's %zu MiB and main freed into a full slab, mapped %.1f MiB > start %.1f + %.0f MiB: the remote frees did not come back",
	      mib, s_mib(st2.mapped), s_mib(st0.mapped), s_mib(BOUND));
	for (size_t i = 1; i < NSMALL; i++) {
		CHECK(s_check(small[i], SMALL, s_key(small[i], SMALL, i)) < 0,
		      "48 B block %zu corrupted", i);
		free(small[i]);
	}
	printf("hinted: %zu MiB freed remotely; mapped start %.1f MiB, allocated %.1f, after main's free into a full slab %.1f (bound +%.0f)\n",
	       mib, s_mib(st0.mapped), s_mib(st1.mapped), s_mib(st2.mapped),
	       s_mib(BOUND));
	return t_result();
}
