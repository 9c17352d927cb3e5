// SPDX-License-Identifier: MIT
/*
 * unit/superslab/retain_mt.c - the empty-chunk cache under threads: THREADS
 * threads acquire slabs of the two largest spans (one and two slabs a
 * chunk, so chunks go empty all the time), write a pattern over the first
 * and last page of each, hold a few, check and release them, while the
 * policy is set to purge often (a decay maximum of 0, then 8 ms) and keep
 * little (2 chunks): purges, evictions and reuse of purged chunks race
 * with acquires and releases on other threads.  Run under TSan it checks
 * the cache's locking (the purge runs outside the lock).
 *
 * Asserted: a slab's pattern is intact until its release (a purge or an
 * unmap of a chunk with a slab out would zero it or fault); no slab is
 * handed out twice at once (its pattern carries the holder's id); purges
 * and evictions happened; after hak_ss_trim() the cache is empty and the
 * chunk count is back to where it started.
 */
#include <pthread.h>

#include "helpers.h"
#include "superslab/superslab.h"

#define THREADS		4
#define HOLD		3
#define ROUNDS		((T_ASAN || T_TSAN) ? 500 : 2000)

static _Atomic unsigned bad;

static uint64_t *first_word(struct hak_slab *s)
{
	return (uint64_t *)hak_ss_slab_start(s);
}

static uint64_t *last_word(struct hak_slab *s)
{
	return (uint64_t *)(hak_ss_slab_start(s) + hak_ss_slab_usable(s)) - 1;
}

static void *worker(void *arg)
{
	uint64_t id = (uintptr_t)arg, rng = id * 0x9e3779b97f4a7c15ULL + 1;
	struct hak_slab *held[HOLD] = { 0 };
	uint64_t tag[HOLD] = { 0 };

	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned k = r % HOLD;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		if (held[k]) {
			if (*first_word(held[k]) != tag[k] ||
			    *last_word(held[k]) != ~tag[k])
				bad++;
			hak_ss_release(held[k]);
		}
		held[k] = hak_ss_acquire(SS_MAX_SLAB_SHIFT - (rng & 1));
		if (!held[k]) {
			bad++;
			break;
		}
		tag[k] = id << 32 | r;
		*first_word(held[k]) = tag[k];
		*last_word(held[k]) = ~tag[k];
	}
	for (unsigned k = 0; k < HOLD; k++) {
		if (!held[k])
			continue;
		if (*first_word(held[k]) != tag[k] ||
		    *last_word(held[k]) != ~tag[k])
			bad++;
		hak_ss_release(held[k]);
	}
	return NULL;
}

static void run(long decay_max_ms)
{
	pthread_t t[THREADS];

	hak_ss_config(2 * SS_SIZE, 0, 0, decay_max_ms);
	for (uintptr_t i = 0; i < THREADS; i++)
		if (!CHECK(pthread_create(&t[i], NULL, worker,
					  (void *)(i + 1)) == 0, "thread %lu",
			   (unsigned long)i))
			return;
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

int main(void)
{
	struct hak_ss_retain r0, r;
	size_t c0;
	/* start-up first (it applies the HAKMEM_* settings), then ours;
	 * volatile: the compiler may drop a malloc/free pair */
	void *volatile first = malloc(1);

	free(first);
	hak_ss_trim();
	c0 = hak_ss_chunks();
	hak_ss_retain_get(&r0);
	run(0);
	run(8);
	CHECK(bad == 0, "%u slabs lost their pattern or failed", bad);
	hak_ss_retain_get(&r);
	CHECK(r.purged > r0.purged && r.unmapped > r0.unmapped &&
	      r.hits > r0.hits, "purged +%lu unmapped +%lu hits +%lu: the "
	      "policy was not exercised",
	      (unsigned long)(r.purged - r0.purged),
	      (unsigned long)(r.unmapped - r0.unmapped),
	      (unsigned long)(r.hits - r0.hits));
	CHECK(r.dirty + r.clean <= 2, "cached %zu + %zu > bound 2", r.dirty,
	      r.clean);
	hak_ss_trim();
	hak_ss_retain_get(&r);
	CHECK(r.dirty == 0 && r.clean == 0 && hak_ss_chunks() == c0,
	      "after trim: dirty %zu clean %zu chunks %zu (start %zu)",
	      r.dirty, r.clean, hak_ss_chunks(), c0);
	printf("retain_mt: %d threads x %d rounds x 2 settings; purged %lu, "
	       "unmapped %lu, hits %lu, misses %lu\n", THREADS, ROUNDS,
	       (unsigned long)(r.purged - r0.purged),
	       (unsigned long)(r.unmapped - r0.unmapped),
	       (unsigned long)(r.hits - r0.hits),
	       (unsigned long)(r.misses - r0.misses));
	return t_result();
}
