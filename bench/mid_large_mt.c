// SPDX-License-Identifier: MIT
/*
 * mid_large_mt.c - THREADS threads, each replacing blocks of 8..32 KiB in a
 * working set of its own: the buffers of a server's workers.
 *
 *   mid_large_mt [--smoke] [SCALE [THREADS]]        (THREADS default 2)
 *
 * Each thread owns 128 slots (about 2.5 MiB live), fills them, waits for
 * the others, then does 5,000,000 * SCALE ops (--smoke: 5,000): pick a
 * random slot, check and free its block, malloc one of random size in
 * [8 KiB, 32 KiB], tag its first and last 8 bytes and write one byte in
 * each of its pages.  All frees are by the allocating thread.  Output:
 *
 *   mid_large_mt: threads=T slots=128 min=8192 max=32768 ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * seconds runs from the start barrier to the last thread's end.
 */
#include "workers.h"

#define PROG "mid_large_mt"
#define SLOTS 128			/* a power of two */
#define MIN_SIZE (8 << 10)
#define MAX_SIZE (32 << 10)
#define PAGE 4096


static void *fresh(size_t size, uint64_t id)
{
	char *p = bench_malloc(PROG, size);
	size_t off;

	for (off = PAGE; off < size; off += PAGE)
		p[off] = (char)off;
	bench_tag_write(p, size, id);
	return p;
}

static void *worker(void *arg)
{
	struct bench_worker *w = arg;
	void *ptr[SLOTS];
	size_t size[SLOTS];
	uint64_t id[SLOTS], rng = bench_seed(4141, w->idx), next = 0, i;
	unsigned s;

	for (s = 0; s < SLOTS; s++) {
		size[s] = bench_range(&rng, MIN_SIZE, MAX_SIZE);
		id[s] = next++;
		ptr[s] = fresh(size[s], id[s]);
	}
	bench_workers_go(w);
	for (i = 0; i < w->ops; i++) {
		uint64_t r = bench_rand(&rng);

		s = (unsigned)(r & (SLOTS - 1));
		bench_tag_check(PROG, ptr[s], size[s], id[s]);
		free(ptr[s]);
		size[s] = MIN_SIZE + (size_t)((r >> 20) %
					      (MAX_SIZE - MIN_SIZE + 1));
		id[s] = next++;
		ptr[s] = fresh(size[s], id[s]);
	}
	w->end = bench_now();
	for (s = 0; s < SLOTS; s++) {
		bench_tag_check(PROG, ptr[s], size[s], id[s]);
		free(ptr[s]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	uint64_t per_thread = bench_count(&a, 5e6, 5000), ops;
	int hakmem = bench_hakmem(MIN_SIZE);
	double end;

	ops = bench_workers_run(PROG, a.threads, per_thread, worker, &end);
	printf(PROG ": threads=%u slots=%d min=%d max=%d ops=%llu "
	       "seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       a.threads, SLOTS, MIN_SIZE, MAX_SIZE, (unsigned long long)ops,
	       end, end > 0 ? ops / end : 0.0, bench_rss_peak_kb(), hakmem);
	return 0;
}
