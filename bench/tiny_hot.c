// SPDX-License-Identifier: MIT
/*
 * tiny_hot.c - the allocator's hottest path: one thread, one size, malloc
 * and free back to back.
 *
 *   tiny_hot [--smoke] [--pattern=lifo|ring64] [--once] [size [iterations]]
 *                                               (defaults: 64 20000000)
 *
 * Two patterns, each timed REPS times after a warm-up, best time kept:
 *   lifo    p = malloc(size); free(p);              (one pair per iteration)
 *   ring64  free the oldest of 64 live blocks, malloc its replacement
 * --pattern runs only that one; --once times it once, after a warm-up of
 * a fixed ONCE_WARMUP iterations, so that two --once runs of different
 * lengths differ only in the timed iterations (for callgrind: `make
 * bench-instr` counts the instructions that run_lifo() or run_ring() spend
 * in their callees, and differences two lengths).
 *
 * Output, one line per pattern, on stdout:
 *
 *   tiny_hot: size=S pattern=lifo ns_per_pair=X ops_per_sec=Y rss_peak_kb=K hakmem=H
 *   tiny_hot: size=S pattern=ring64 ns_per_pair=X ops_per_sec=Y rss_peak_kb=K hakmem=H
 *
 * (ops_per_sec is pairs per second, 1e9 / ns_per_pair.)
 *
 * H is 1 when hakmem's hak_owns() is in the process and claims a block
 * from malloc (so the figure is hakmem's, not libc's), else 0.
 *
 * Only plain malloc/free are called, so LD_PRELOAD picks the allocator.
 * An empty asm statement that takes the pointer and clobbers memory keeps
 * the compiler from pairing up and deleting malloc/free.  --smoke caps the
 * iterations at 100000 for CI.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rss.h"

#define RING 64
#define REPS 3
#define ONCE_WARMUP 100000

/* The compiler must assume @p escapes and memory was read and written. */
static inline void sink(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		fprintf(stderr, "tiny_hot: malloc(%zu) failed\n", size);
		exit(1);
	}
	return p;
}

static __attribute__((noinline)) double run_lifo(size_t size, unsigned long n)
{
	double t0 = now_ns();
	unsigned long i;

	for (i = 0; i < n; i++) {
		void *p = malloc(size);

		sink(p);
		free(p);
	}
	return (now_ns() - t0) / (double)n;
}

static __attribute__((noinline)) double run_ring(size_t size, unsigned long n)
{
	void *ring[RING];
	double t0, ns;
	unsigned long i;

	for (i = 0; i < RING; i++)
		ring[i] = xmalloc(size);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		unsigned slot = i % RING;

		free(ring[slot]);
		ring[slot] = malloc(size);
		sink(ring[slot]);
	}
	ns = (now_ns() - t0) / (double)n;
	for (i = 0; i < RING; i++)
		free(ring[i]);
	return ns;
}

static int once;

static double best_of(double (*fn)(size_t, unsigned long), size_t size,
		      unsigned long n)
{
	double best = 0;
	int r;

	if (once) {
		fn(size, ONCE_WARMUP);
		return fn(size, n);
	}
	fn(size, n / 10 ? n / 10 : 1);		/* warm-up */
	for (r = 0; r < REPS; r++) {
		double ns = fn(size, n);

		if (r == 0 || ns < best)
			best = ns;
	}
	return best;
}

static int served_by_hakmem(size_t size)
{
	int (*owns)(const void *);
	void *p;
	int r;

	*(void **)&owns = dlsym(RTLD_DEFAULT, "hak_owns");
	if (!owns)
		return 0;
	p = xmalloc(size);
	r = owns(p) != 0;
	free(p);
	return r;
}

static unsigned long parse_num(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-') {
		fprintf(stderr, "tiny_hot: bad %s '%s'\n"
			"usage: tiny_hot [--smoke] [size [iterations]]\n",
			what, s);
		exit(2);
	}
	return v;
}

static void report(size_t size, const char *pattern, double ns, int hakmem)
{
	printf("tiny_hot: size=%zu pattern=%s ns_per_pair=%.2f "
	       "ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n", size, pattern,
	       ns, ns > 0 ? 1e9 / ns : 0.0, bench_rss_peak_kb(), hakmem);
}

int main(int argc, char **argv)
{
	size_t size = 64;
	unsigned long iters = 20000000;
	int smoke = 0, npos = 0, lifo = 1, ring = 1, bad = 0, hakmem, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			smoke = 1;
		else if (!strcmp(argv[i], "--once"))
			once = 1;
		else if (!strcmp(argv[i], "--pattern=lifo"))
			ring = 0;
		else if (!strcmp(argv[i], "--pattern=ring64"))
			lifo = 0;
		else if (!strncmp(argv[i], "--", 2))
			bad = 1;
		else if (npos == 0)
			size = parse_num(argv[i], "size"), npos++;
		else if (npos == 1)
			iters = parse_num(argv[i], "iterations"), npos++;
		else
			bad = 1;
	}
	if (bad || (!lifo && !ring)) {
		fprintf(stderr, "usage: tiny_hot [--smoke] "
			"[--pattern=lifo|ring64] [--once] [size [iterations]]\n");
		return 2;
	}
	if (smoke && iters > 100000)
		iters = 100000;
	if (iters == 0)
		iters = 1;

	hakmem = served_by_hakmem(size);
	if (lifo)
		report(size, "lifo", best_of(run_lifo, size, iters), hakmem);
	if (ring)
		report(size, "ring64", best_of(run_ring, size, iters), hakmem);
	return 0;
}
