/* SPDX-License-Identifier: MIT */
/*
 * bench_util.h - what every benchmark program in bench/ shares: the
 * command line, a fast seeded random generator, the clock, peak RSS, the
 * block tags that catch overlapping blocks, and the proof of which
 * allocator served the run.
 *
 * Command line of the suite's programs (larson keeps its classic one):
 *
 *   prog [--smoke] [SCALE [THREADS]]
 *
 * SCALE (a positive real, default 1) multiplies the amount of work;
 * --smoke shrinks it to a few milliseconds for CI, whatever SCALE says.
 * THREADS defaults to 2 where the program has threads.
 *
 * Each program prints one result line on stdout, key=value fields after
 * the program's name, and always these:
 *
 *   NAME: ... ops=N seconds=S ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * H is 1 only when hakmem's hak_owns() is present in the process and
 * claims a block that malloc has just returned.  Only plain malloc and free
 * are called, so LD_PRELOAD picks the allocator.  bench/bench.py runs the
 * programs and checks H.
 */
#ifndef HAKMEM_BENCH_UTIL_H
#define HAKMEM_BENCH_UTIL_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rss.h"

struct bench_args {
	int smoke;
	double scale;
	unsigned threads;
};

/* The compiler must assume @p escapes and memory was read and written. */
static inline void bench_sink(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: small, fast, and never 0 once seeded by bench_seed(). */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A uniform-enough value in [lo, hi]. */
static inline size_t bench_range(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)((bench_rand(s) >> 16) % (hi - lo + 1));
}

/* splitmix64 of (seed, stream): independent streams per thread. */
static inline uint64_t bench_seed(uint64_t seed, unsigned stream)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static inline void *bench_malloc(const char *prog, size_t size)
{
	void *p = malloc(size);

	if (!p) {
		fprintf(stderr, "%s: malloc(%zu) failed\n", prog, size);
		exit(1);
	}
	return p;
}

/*
 * Tags: the first and the last 8 bytes of a block (one word when the block
 * is shorter than 16 bytes) hold a value derived from the block's identity,
 * written after malloc and checked before free.  An allocator that hands
 * out overlapping blocks, or scribbles on a live one, is caught.
 */
static inline uint64_t bench_tag(uint64_t id)
{
	return (id * 0x9E3779B97F4A7C15ULL) ^ 0x5EEDA110C8ULL;
}

static inline void bench_tag_write(void *p, size_t size, uint64_t id)
{
	uint64_t t = bench_tag(id);

	if (size >= 16) {
		memcpy(p, &t, 8);
		memcpy((char *)p + size - 8, &t, 8);
	} else if (size >= 8) {
		memcpy(p, &t, 8);
	} else if (size) {
		memcpy(p, &t, size);
	}
}

static inline void bench_tag_check(const char *prog, const void *p,
				   size_t size, uint64_t id)
{
	uint64_t t = bench_tag(id);
	int bad;

	if (size >= 16)
		bad = memcmp(p, &t, 8) ||
		      memcmp((const char *)p + size - 8, &t, 8);
	else
		bad = memcmp(p, &t, size < 8 ? size : 8);
	if (bad) {
		fprintf(stderr, "%s: block %p (size %zu, id %llu) was "
			"overwritten while live\n", prog, p, size,
			(unsigned long long)id);
		abort();
	}
}

/*
 * 1 when hakmem's hak_owns() is in the process and claims a fresh block of
 * @size from malloc: proof that hakmem, not libc, served this run.
 */
static inline int bench_hakmem(size_t size)
{
	int (*owns)(const void *);
	void *p;
	int r;

	*(void **)&owns = dlsym(RTLD_DEFAULT, "hak_owns");
	if (!owns)
		return 0;
	p = malloc(size ? size : 1);
	r = p && owns(p);
	free(p);
	return r;
}

static inline void bench_usage(const char *prog, const char *extra)
{
	fprintf(stderr, "usage: %s [--smoke] [SCALE [THREADS]]%s\n", prog,
		extra ? extra : "");
	exit(2);
}

/*
 * Parse [--smoke] [SCALE [THREADS]]; other "--" options are left to the
 * caller when @opt accepts them (returns 0 for an unknown one).
 */
static inline struct bench_args bench_parse(int argc, char **argv,
					    const char *prog,
					    int (*opt)(const char *arg))
{
	struct bench_args a = { 0, 1.0, 2 };
	int npos = 0, i;
	char *end;

	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "--smoke")) {
			a.smoke = 1;
		} else if (!strncmp(s, "--", 2)) {
			if (!opt || !opt(s))
				bench_usage(prog, NULL);
		} else if (npos == 0) {
			errno = 0;
			a.scale = strtod(s, &end);
			if (errno || end == s || *end || !(a.scale > 0) ||
			    a.scale > 1e6)
				bench_usage(prog, NULL);
			npos++;
		} else if (npos == 1) {
			unsigned long t;

			errno = 0;
			t = strtoul(s, &end, 10);
			if (errno || end == s || *end || t < 1 || t > 1024)
				bench_usage(prog, NULL);
			a.threads = (unsigned)t;
			npos++;
		} else {
			bench_usage(prog, NULL);
		}
	}
	return a;
}

/* @base scaled by the arguments, at least 1; @smoke in --smoke mode. */
static inline uint64_t bench_count(const struct bench_args *a, double base,
				   uint64_t smoke)
{
	double v = a->smoke ? (double)smoke : base * a->scale;

	return v < 1 ? 1 : (uint64_t)v;
}

#endif /* HAKMEM_BENCH_UTIL_H */
