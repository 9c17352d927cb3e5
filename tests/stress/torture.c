// SPDX-License-Identifier: MIT
/*
 * tests/stress/torture.c - multi-thread allocator torture (not a benchmark:
 * most of its time goes into filling and checking patterns).
 *
 * Usage: torture.t [--smoke] [threads] [ops_millions]
 *   defaults: 4 threads, 10 M allocator calls (2 M under ASan/TSan);
 *   --smoke: 0.3 M calls.  An op is one malloc, calloc, posix_memalign,
 *   realloc or free.
 *
 * Linked statically against libhakmem.a, so plain malloc/free are hakmem's.
 *
 * Each worker index owns an array of NSLOTS slots and an inbox.  A worker
 * thread picks random slots: a live block is verified and then freed here
 * (~60%), handed to the next index's inbox to be verified and freed by that
 * thread (~30%: cross-thread free), or realloc'd with its prefix checked
 * (~10%); the slot then gets a new block (malloc, sometimes calloc or
 * posix_memalign) of a skewed random size: ~70% 1..256 B, ~20% up to 32 KiB,
 * ~9% up to 1 MiB, ~1% up to 4 MiB.  Each block carries a pattern derived
 * from (pointer, size, seed): all of it up to FULL_FILL bytes, else the
 * first and last 64 bytes and seven words in between.
 *
 * The run is split into generations: when a worker thread has done its
 * share it exits with its slots and queued blocks still live, and the main
 * thread joins it and starts a successor on the same index, which inherits
 * (and eventually frees) them while the other indices keep running.  At
 * the end the main thread verifies and frees whatever is left.
 *
 * Any damaged pattern, misaligned or foreign block (hak_owns() != 1) or
 * failed allocation prints the block, size and offset and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "helpers.h"

#define NSLOTS 2048
#define INBOX_CAP 2048
#define DRAIN_EVERY 64
#define FULL_FILL 256
#define EDGE 64
#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

#if T_TSAN || T_ASAN
#define DEFAULT_MOPS 2.0	/* sanitizers: 5-20x slower */
#else
#define DEFAULT_MOPS 10.0
#endif
#define SMOKE_MOPS 0.3

struct blk {
	void *p;
	size_t size;
	uint64_t seed;
};

/* One per worker index; outlives the threads that work on it. */
struct lane {
	struct blk slot[NSLOTS];	/* current thread of this index only */
	/* blocks handed to this index by its neighbour */
	pthread_mutex_t lock;
	size_t head, count;		/* under lock */
	struct blk inbox[INBOX_CAP];	/* under lock */
};

struct counts {
	uint64_t ops, mallocs, frees, remote_frees, reallocs, callocs, aligned;
};

struct worker {
	pthread_t tid;
	int idx, gen;
	uint64_t quota;			/* allocator calls to make */
	uint64_t seed;
	struct counts c;
};

static struct lane *lanes;
static int nlanes;

/* ---- patterns ------------------------------------------------------------- */

static inline uint64_t blk_key(const void *p, size_t size, uint64_t seed)
{
	return t_mix64((uintptr_t)p ^ (size * 0xd6e8feb86659fd93ull) ^ seed);
}

/* shift of byte i of a word stored with memcpy(), so bytes and words agree */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTE_SHIFT(i) (56 - 8 * ((i) & 7))
#else
#define BYTE_SHIFT(i) (8 * ((i) & 7))
#endif

static inline uint8_t pat_byte(uint64_t key, size_t i)
{
	uint64_t w = key + (i >> 3) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(w >> BYTE_SHIFT(i));
}

static void fill_range(uint8_t *b, size_t from, size_t to, uint64_t key)
{
	size_t i = from;

	for (; i < to && (i & 7); i++)
		b[i] = pat_byte(key, i);
	for (; i + 8 <= to; i += 8) {
		uint64_t w = key + (i >> 3) * 0x9e3779b97f4a7c15ull;

		memcpy(b + i, &w, 8);
	}
	for (; i < to; i++)
		b[i] = pat_byte(key, i);
}

static __attribute__((noreturn, cold)) void
die_block(const char *why, const struct blk *b, size_t off, int got, int want)
{
	fprintf(stderr,
		"torture: %s: block %p size %zu seed %#llx: offset %zu is 0x%02x, expected 0x%02x\n",
		why, b->p, b->size, (unsigned long long)b->seed, off, got,
		want);
	_exit(T_FAIL);
}

static __attribute__((noreturn, cold, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("torture: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(T_FAIL);
}

/*
 * check_range - bytes [from, to) of @b (data at @data) against @key, or
 * against zero when @zero.
 */
static void check_range(const char *why, const struct blk *b,
			const uint8_t *data, size_t from, size_t to,
			uint64_t key, bool zero)
{
	size_t i = from;

	for (; i + 8 <= to && !(i & 7) && !zero; i += 8) {
		uint64_t w = key + (i >> 3) * 0x9e3779b97f4a7c15ull, g;

		memcpy(&g, data + i, 8);
		if (t_unlikely(g != w))
			break;	/* find the byte below */
	}
	for (; i < to; i++) {
		uint8_t want = zero ? 0 : pat_byte(key, i);

		if (t_unlikely(data[i] != want))
			die_block(why, b, i, data[i], want);
	}
}

/*
 * The sampled layout of a block of @size bytes: whole block up to FULL_FILL,
 * else head, tail and seven 8-byte words in between.  Calls @fn for each
 * range clipped to [0, @limit).
 */
#define FOR_EACH_RANGE(size, limit, from, to, body)                           \
	do {                                                                  \
		size_t sz_ = (size), lim_ = (limit);                          \
		size_t r_[9][2];                                              \
		int nr_ = 0;                                                  \
		if (sz_ <= FULL_FILL) {                                       \
			r_[nr_][0] = 0;                                       \
			r_[nr_++][1] = sz_;                                   \
		} else {                                                      \
			r_[nr_][0] = 0;                                       \
			r_[nr_++][1] = EDGE;                                  \
			for (int j_ = 1; j_ < 8; j_++) {                      \
				size_t o_ = (sz_ / 8 * j_) & ~(size_t)7;      \
				r_[nr_][0] = o_;                              \
				r_[nr_++][1] = o_ + 8;                        \
			}                                                     \
			r_[nr_][0] = sz_ - EDGE;                              \
			r_[nr_++][1] = sz_;                                   \
		}                                                             \
		for (int k_ = 0; k_ < nr_; k_++) {                            \
			size_t from = r_[k_][0];                              \
			size_t to = r_[k_][1] < lim_ ? r_[k_][1] : lim_;      \
			if (from < to) {                                      \
				body;                                         \
			}                                                     \
		}                                                             \
	} while (0)

static void blk_fill(const struct blk *b)
{
	uint64_t key = blk_key(b->p, b->size, b->seed);

	FOR_EACH_RANGE(b->size, b->size, from, to,
		       fill_range(b->p, from, to, key));
}

static void blk_verify(const char *why, const struct blk *b)
{
	uint64_t key = blk_key(b->p, b->size, b->seed);

	if (t_unlikely(hak_owns(b->p) != 1))
		die("%s: live block %p size %zu: hak_owns() != 1", why, b->p,
		    b->size);
	FOR_EACH_RANGE(b->size, b->size, from, to,
		       check_range(why, b, b->p, from, to, key, false));
}

/* ---- one allocation ------------------------------------------------------- */

/* Sizes: ~70% 1..256, ~20% 257..32K, ~9% 32K..1M, ~1% 1M..4M (log-skewed). */
static size_t rand_size(struct t_rng *r)
{
	unsigned int pick = (unsigned int)(t_rand(r) % 1000);
	int lo_bit, hi_bit, k;
	size_t lo, hi, n;

	if (pick < 700)
		return (size_t)t_rand_range(r, 1, 256);
	if (pick < 900) {
		lo_bit = 8, hi_bit = 15;	/* 2^8 .. 2^15 */
		lo = 257, hi = 32 * KiB;
	} else if (pick < 990) {
		lo_bit = 15, hi_bit = 20;
		lo = 32 * KiB + 1, hi = 1 * MiB;
	} else {
		lo_bit = 20, hi_bit = 22;
		lo = 1 * MiB + 1, hi = 4 * MiB;
	}
	k = (int)t_rand_range(r, (uint64_t)lo_bit, (uint64_t)hi_bit - 1);
	n = (size_t)t_rand_range(r, (uint64_t)1 << k, ((uint64_t)2 << k) - 1);
	return n < lo ? lo : n > hi ? hi : n;
}

static void blk_new(struct worker *w, struct t_rng *r, struct blk *b)
{
	unsigned int how = (unsigned int)(t_rand(r) % 100);
	size_t align = 16;

	b->size = rand_size(r);
	b->seed = t_rand(r);
	if (how < 2) {
		b->p = calloc(1, b->size);
		w->c.callocs++;
	} else if (how < 3) {
		align = (size_t)1 << t_rand_range(r, 4, 12);
		if (posix_memalign(&b->p, align, b->size) != 0)
			b->p = NULL;
		w->c.aligned++;
	} else {
		b->p = malloc(b->size);
	}
	w->c.mallocs++;
	w->c.ops++;
	if (t_unlikely(!b->p))
		die("thread %d: allocation of %zu bytes failed (errno %d)",
		    w->idx, b->size, errno);
	if (t_unlikely(((uintptr_t)b->p & (align - 1)) != 0))
		die("thread %d: block %p size %zu not %zu-aligned", w->idx,
		    b->p, b->size, align);
	if (t_unlikely(hak_owns(b->p) != 1))
		die("thread %d: new block %p size %zu: hak_owns() != 1",
		    w->idx, b->p, b->size);
	if (how < 2)
		FOR_EACH_RANGE(b->size, b->size, from, to,
			       check_range("calloc not zeroed", b, b->p, from,
					   to, 0, true));
	blk_fill(b);
}

static void blk_free(struct counts *c, const char *why, struct blk *b)
{
	blk_verify(why, b);
	free(b->p);
	b->p = NULL;
	c->frees++;
	c->ops++;
}

static void blk_realloc(struct worker *w, struct t_rng *r, struct blk *b)
{
	struct blk old = *b;
	uint64_t key = blk_key(old.p, old.size, old.seed);
	uintptr_t addr = (uintptr_t)old.p;	/* for the message */
	size_t keep;

	blk_verify("before realloc", &old);
	b->size = rand_size(r);
	b->p = realloc(old.p, b->size);
	w->c.reallocs++;
	w->c.ops++;
	if (t_unlikely(!b->p))
		die("thread %d: realloc(%#llx, %zu -> %zu) failed", w->idx,
		    (unsigned long long)addr, old.size, b->size);
	if (t_unlikely(((uintptr_t)b->p & 15) || hak_owns(b->p) != 1))
		die("thread %d: realloc gave %p (size %zu): misaligned or not owned",
		    w->idx, b->p, b->size);
	/* the old pattern (keyed by the old pointer) must survive the move */
	keep = old.size < b->size ? old.size : b->size;
	old.p = b->p;
	FOR_EACH_RANGE(old.size, keep, from, to,
		       check_range("realloc lost content", &old, old.p, from,
				   to, key, false));
	blk_fill(b);
}

/* ---- cross-thread hand-off ------------------------------------------------- */

/* Queue @b for lane @to; false if its inbox is full. */
static bool hand_off(int to, const struct blk *b)
{
	struct lane *l = &lanes[to];
	bool ok = false;

	pthread_mutex_lock(&l->lock);
	if (l->count < INBOX_CAP) {
		l->inbox[(l->head + l->count) % INBOX_CAP] = *b;
		l->count++;
		ok = true;
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

/* Verify and free everything queued for lane @idx. */
static void drain(int idx, struct counts *c)
{
	struct lane *l = &lanes[idx];
	struct blk batch[64];

	for (;;) {
		size_t n = 0;

		pthread_mutex_lock(&l->lock);
		while (l->count && n < 64) {
			batch[n++] = l->inbox[l->head];
			l->head = (l->head + 1) % INBOX_CAP;
			l->count--;
		}
		pthread_mutex_unlock(&l->lock);
		if (!n)
			return;
		for (size_t k = 0; k < n; k++) {
			blk_free(c, "handed-over block", &batch[k]);
			c->remote_frees++;
		}
	}
}

/* ---- workers ---------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct lane *l = &lanes[w->idx];
	int next = (w->idx + 1) % nlanes;
	struct t_rng r;

	t_rng_seed(&r, w->seed);
	for (uint64_t it = 0; w->c.ops < w->quota; it++) {
		struct blk *b = &l->slot[t_rand(&r) % NSLOTS];

		if (it % DRAIN_EVERY == 0)
			drain(w->idx, &w->c);
		if (b->p) {
			unsigned int what = (unsigned int)(t_rand(&r) % 100);

			if (what < 10) {
				blk_realloc(w, &r, b);
				continue;
			}
			if (what < 40 && hand_off(next, b))
				b->p = NULL;	/* now the neighbour's */
			else
				blk_free(&w->c, "local free", b);
		}
		blk_new(w, &r, b);
	}
	/* exit with the slots and the inbox still full: the successor's */
	return NULL;
}

static void start(struct worker *w)
{
	int rc = pthread_create(&w->tid, NULL, worker_main, w);

	if (rc)
		die("pthread_create: %s", strerror(rc));
}

static void add_counts(struct counts *sum, const struct counts *c)
{
	sum->ops += c->ops;
	sum->mallocs += c->mallocs;
	sum->frees += c->frees;
	sum->remote_frees += c->remote_frees;
	sum->reallocs += c->reallocs;
	sum->callocs += c->callocs;
	sum->aligned += c->aligned;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *a_threads = t_arg(argc, argv, 0);
	const char *a_mops = t_arg(argc, argv, 1);
	int threads = a_threads ? atoi(a_threads) : 4;
	double mops = a_mops ? atof(a_mops) : smoke ? SMOKE_MOPS : DEFAULT_MOPS;
	int gens = smoke ? 3 : 6;
	struct counts sum = { 0 };
	struct worker *w;
	uint64_t quota;
	double t0 = t_now();

	if (threads < 1 || threads > 1024 || !(mops > 0))
		die("usage: %s [--smoke] [threads] [ops_millions]", argv[0]);
	quota = (uint64_t)(mops * 1e6 / threads / gens) + 1;

	nlanes = threads;
	lanes = calloc((size_t)threads, sizeof(*lanes));
	w = calloc((size_t)threads, sizeof(*w));
	if (!lanes || !w)
		die("out of memory for %d lanes", threads);
	for (int i = 0; i < threads; i++)
		pthread_mutex_init(&lanes[i].lock, NULL);

	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){ .idx = i, .gen = 0, .quota = quota,
					.seed = 1000u * (unsigned)i + 1 };
		start(&w[i]);
	}
	/* staggered restarts: lane i gets a successor while others still run */
	for (int g = 1; g <= gens; g++) {
		for (int i = 0; i < threads; i++) {
			int rc = pthread_join(w[i].tid, NULL);

			if (rc)
				die("pthread_join: %s", strerror(rc));
			add_counts(&sum, &w[i].c);
			if (g == gens)
				continue;
			w[i] = (struct worker){
				.idx = i, .gen = g, .quota = quota,
				.seed = 1000u * (unsigned)i + (unsigned)g + 1,
			};
			start(&w[i]);
		}
	}

	/* the main thread inherits everything that is left */
	for (int i = 0; i < threads; i++) {
		drain(i, &sum);
		for (int s = 0; s < NSLOTS; s++)
			if (lanes[i].slot[s].p)
				blk_free(&sum, "final free", &lanes[i].slot[s]);
	}
	for (int i = 0; i < threads; i++)
		pthread_mutex_destroy(&lanes[i].lock);
	free(lanes);
	free(w);

	if (sum.mallocs != sum.frees)
		die("accounting: %llu allocations but %llu frees",
		    (unsigned long long)sum.mallocs,
		    (unsigned long long)sum.frees);
	printf("torture: %d threads x %d generations, %.2fM ops (%llu malloc, %llu free of which %llu handed over, %llu realloc, %llu calloc, %llu aligned) in %.2fs, peak RSS %ld MiB\n",
	       threads, gens, (double)sum.ops / 1e6,
	       (unsigned long long)sum.mallocs, (unsigned long long)sum.frees,
	       (unsigned long long)sum.remote_frees,
	       (unsigned long long)sum.reallocs,
	       (unsigned long long)sum.callocs,
	       (unsigned long long)sum.aligned, t_now() - t0,
	       t_hwm_kb() / 1024);
	return T_PASS;
}
