// SPDX-License-Identifier: MIT
/*
 * random_mixed.c - one thread, a working set of 8192 slots, blocks of
 * 16..1024 bytes: the small-object mix of an interpreter or a parser,
 * without the locality of tiny_hot.
 *
 *   random_mixed [--smoke] [--ops=N] [SCALE]
 *
 * The slots are first filled (not timed).  Then each op picks a random
 * slot, checks and frees its block, and mallocs a block of random size in
 * [16, 1024] for it, tagging its first and last 8 bytes.  20,000,000 * SCALE
 * ops (--ops=N: exactly N; --smoke: 100,000).  Output:
 *
 *   random_mixed: slots=8192 min=16 max=1024 ops=N seconds=S ns_per_op=T
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * The timed loop is the noinline function mixed_ops(): `make bench-instr`
 * counts the instructions of its callees (malloc and free) under callgrind.
 */
#include "bench_util.h"

#define PROG "random_mixed"
#define SLOTS 8192			/* a power of two */
#define MIN_SIZE 16
#define MAX_SIZE 1024

static void *slot_ptr[SLOTS];
static uint32_t slot_size[SLOTS];
static uint64_t slot_id[SLOTS];
static uint64_t exact_ops;

static int opt(const char *arg)
{
	char *end;

	if (strncmp(arg, "--ops=", 6))
		return 0;
	errno = 0;
	exact_ops = strtoull(arg + 6, &end, 10);
	return !errno && end != arg + 6 && !*end && exact_ops > 0;
}

static void refill(unsigned s, uint64_t id, uint64_t r)
{
	size_t size = MIN_SIZE + (size_t)((r >> 20) % (MAX_SIZE - MIN_SIZE + 1));
	void *p = malloc(size);

	if (!p) {
		fprintf(stderr, PROG ": malloc(%zu) failed\n", size);
		exit(1);
	}
	bench_tag_write(p, size, id);
	slot_ptr[s] = p;
	slot_size[s] = (uint32_t)size;
	slot_id[s] = id;
}

/* @n random replacements; ids continue from @id. */
static __attribute__((noinline)) void mixed_ops(uint64_t n, uint64_t *rng,
						uint64_t id)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = bench_rand(rng);
		unsigned s = (unsigned)(r & (SLOTS - 1));

		bench_tag_check(PROG, slot_ptr[s], slot_size[s], slot_id[s]);
		free(slot_ptr[s]);
		refill(s, id + i, r);
	}
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, opt);
	uint64_t rng = bench_seed(4141, 0);
	uint64_t n = exact_ops ? exact_ops : bench_count(&a, 2e7, 100000);
	int hakmem = bench_hakmem(MIN_SIZE);
	double t0, secs;
	unsigned s;

	for (s = 0; s < SLOTS; s++)
		refill(s, s, bench_rand(&rng));
	t0 = bench_now();
	mixed_ops(n, &rng, SLOTS);
	secs = bench_now() - t0;
	for (s = 0; s < SLOTS; s++) {
		bench_tag_check(PROG, slot_ptr[s], slot_size[s], slot_id[s]);
		free(slot_ptr[s]);
	}
	printf(PROG ": slots=%d min=%d max=%d ops=%llu seconds=%.3f "
	       "ns_per_op=%.2f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       SLOTS, MIN_SIZE, MAX_SIZE, (unsigned long long)n, secs,
	       secs * 1e9 / (double)n, secs > 0 ? n / secs : 0.0,
	       bench_rss_peak_kb(), hakmem);
	return 0;
}
