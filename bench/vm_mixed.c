// SPDX-License-Identifier: MIT
/*
 * vm_mixed.c - big blocks, 512 KiB .. 2 MiB: allocate, touch every page,
 * free.  Measures how an allocator handles mmap churn: fresh mappings cost
 * a page fault per page, cached or reused memory does not, and returning
 * memory to the OS too eagerly or too lazily shows in time or in RSS.
 *
 *   vm_mixed [--smoke] [SCALE]
 *
 * One thread, 8 slots (about 10 MiB live).  Each op picks a random slot,
 * checks and frees its block, mallocs one of random size in
 * [512 KiB, 2 MiB] and writes one byte in each of its 4 KiB pages.
 * 50,000 * SCALE ops (--smoke: 200).  Output:
 *
 *   vm_mixed: slots=8 min=524288 max=2097152 ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 */
#include "bench_util.h"

#define PROG "vm_mixed"
#define SLOTS 8				/* a power of two */
#define MIN_SIZE (512 << 10)
#define MAX_SIZE (2 << 20)
#define PAGE 4096

static void *fresh(size_t size, uint64_t id)
{
	char *p = bench_malloc(PROG, size);
	size_t off;

	for (off = 0; off < size; off += PAGE)
		p[off] = (char)(off >> 12);
	bench_tag_write(p, size, id);
	return p;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	uint64_t n = bench_count(&a, 50000, 200), rng = bench_seed(4141, 0);
	int hakmem = bench_hakmem(MIN_SIZE);
	void *ptr[SLOTS];
	size_t size[SLOTS];
	uint64_t id[SLOTS], i;
	double t0, secs;
	unsigned s;

	t0 = bench_now();
	for (s = 0; s < SLOTS; s++) {
		size[s] = bench_range(&rng, MIN_SIZE, MAX_SIZE);
		id[s] = s;
		ptr[s] = fresh(size[s], id[s]);
	}
	for (i = 0; i < n; i++) {
		uint64_t r = bench_rand(&rng);

		s = (unsigned)(r & (SLOTS - 1));
		bench_tag_check(PROG, ptr[s], size[s], id[s]);
		free(ptr[s]);
		size[s] = MIN_SIZE + (size_t)((r >> 20) %
					      (MAX_SIZE - MIN_SIZE + 1));
		id[s] = SLOTS + i;
		ptr[s] = fresh(size[s], id[s]);
	}
	for (s = 0; s < SLOTS; s++) {
		bench_tag_check(PROG, ptr[s], size[s], id[s]);
		free(ptr[s]);
	}
	secs = bench_now() - t0;
	printf(PROG ": slots=%d min=%d max=%d ops=%llu seconds=%.3f "
	       "ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n", SLOTS,
	       MIN_SIZE, MAX_SIZE, (unsigned long long)n, secs,
	       secs > 0 ? n / secs : 0.0, bench_rss_peak_kb(), hakmem);
	return 0;
}
