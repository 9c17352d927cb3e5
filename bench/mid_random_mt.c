// SPDX-License-Identifier: MIT
/*
 * mid_random_mt.c - THREADS threads replacing blocks of random size from
 * 8 B to 16 KiB in a bounded live set, some of them through a shared
 * table so that other threads free them: a server's mixed objects and
 * buffers.  Peak RSS against the live set is the figure to watch here:
 * sizes this spread fragment size-class pages.
 *
 *   mid_random_mt [--smoke] [SCALE [THREADS]]      (THREADS default 2)
 *
 * Each thread owns 2048 slots (about 16 MiB live), fills them, waits for
 * the others, then does 16,000,000 * SCALE ops (--smoke: 5,000): pick a
 * random slot, check and free its block, malloc one of random size in
 * [8, 16384], write one byte in each of its pages and tag it (its first
 * and, from 16 B, last 8 bytes: its address mixed with its size; cleared
 * before free, so that a block handed out twice fails a check).  One op
 * in 8 then swaps the new block (from 16 B) into a random entry of a
 * table of 1024 shared by all threads (atomic exchange) and keeps the
 * block it took out instead, so that blocks migrate and some are freed by
 * a thread that did not allocate them.  At the end each thread frees its
 * slots and the main thread the table.  Output:
 *
 *   mid_random_mt: threads=T slots=2048 min=8 max=16384 ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * seconds runs from the start barrier to the last thread's end.
 */
#include "workers.h"
#include <stdatomic.h>

#define PROG "mid_random_mt"
#define SLOTS 2048			/* a power of two */
#define SHARED 1024			/* a power of two */
#define SHARE_EVERY 8
#define MIN_SIZE 8
#define MAX_SIZE (16 << 10)
#define PAGE 4096

static _Atomic(uint64_t *) shared[SHARED];

static uint64_t mark(const void *p, size_t size)
{
	return bench_tag((uintptr_t)p) ^ size;
}

static uint64_t *fresh(size_t size)
{
	uint64_t *p = bench_malloc(PROG, size);
	size_t off;

	for (off = PAGE; off < size; off += PAGE)
		((char *)p)[off] = (char)off;
	p[0] = mark(p, size);
	if (size >= 16)
		memcpy((char *)p + size - 8, &p[0], 8);
	return p;
}

/* @p's size from its tag; dies if the tags do not agree */
static size_t checked_size(uint64_t *p)
{
	size_t size = p[0] ^ bench_tag((uintptr_t)p);
	uint64_t end = p[0];

	if (size >= 16 && size <= MAX_SIZE)
		memcpy(&end, (char *)p + size - 8, 8);
	if (size < MIN_SIZE || size > MAX_SIZE || end != p[0]) {
		fprintf(stderr, PROG ": block %p was overwritten while live\n",
			(void *)p);
		abort();
	}
	return size;
}

/* check @p's tags, clear its first word (a block handed out twice fails
 * the second check) and free it */
static void retire(uint64_t *p)
{
	checked_size(p);
	*(volatile uint64_t *)p = 0;	/* not a dead store before free */
	free(p);
}

static void *worker(void *arg)
{
	struct bench_worker *w = arg;
	uint64_t *ptr[SLOTS], rng = bench_seed(4141, w->idx), i;
	unsigned s;

	for (s = 0; s < SLOTS; s++)
		ptr[s] = fresh(bench_range(&rng, MIN_SIZE, MAX_SIZE));
	bench_workers_go(w);
	for (i = 0; i < w->ops; i++) {
		uint64_t r = bench_rand(&rng);
		size_t size = MIN_SIZE + (size_t)((r >> 24) %
						  (MAX_SIZE - MIN_SIZE + 1));

		s = (unsigned)(r & (SLOTS - 1));
		retire(ptr[s]);
		ptr[s] = fresh(size);
		if (i % SHARE_EVERY == 0 && size >= 16) {
			unsigned k = (unsigned)(r >> 11) & (SHARED - 1);
			/* acq_rel: we publish our block's tags and take
			 * another thread's */
			uint64_t *got = atomic_exchange_explicit(
				&shared[k], ptr[s], memory_order_acq_rel);

			if (got) {
				checked_size(got);
				ptr[s] = got;
			} else {
				ptr[s] = fresh(MIN_SIZE);
			}
		}
	}
	w->end = bench_now();
	for (s = 0; s < SLOTS; s++)
		retire(ptr[s]);
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	uint64_t per_thread = bench_count(&a, 1.6e7, 5000), ops;
	int hakmem = bench_hakmem(MIN_SIZE);
	double end;
	unsigned k;

	ops = bench_workers_run(PROG, a.threads, per_thread, worker, &end);
	for (k = 0; k < SHARED; k++) {
		uint64_t *p = atomic_load_explicit(&shared[k],
						   memory_order_relaxed);

		if (p)
			retire(p);
	}
	printf(PROG ": threads=%u slots=%d min=%d max=%d ops=%llu "
	       "seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       a.threads, SLOTS, MIN_SIZE, MAX_SIZE, (unsigned long long)ops,
	       end, end > 0 ? ops / end : 0.0, bench_rss_peak_kb(), hakmem);
	return 0;
}
