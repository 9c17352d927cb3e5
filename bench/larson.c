// SPDX-License-Identifier: MIT
/*
 * larson.c - the Larson & Krishnan server benchmark ("Memory Allocation for
 * Long-Running Server Applications", ISMM 1998), written afresh from the
 * paper's description.
 *
 *   larson [--smoke] sleep_s min_size max_size chunks_per_thread rounds seed threads
 *
 * Model: a server whose worker threads each own a working set of blocks and
 * keep replacing them, while the threads themselves come and go.  Every slot
 * (one per thread) holds an array of chunks_per_thread blocks, first filled
 * by the main thread.  A worker repeatedly picks a random block of its array,
 * frees it and allocates a new block of random size in [min_size, max_size],
 * writing its first bytes.  After rounds * chunks_per_thread such
 * replacements (one "generation", as in the published program) the worker
 * starts a successor thread that inherits the array and exits; so blocks are
 * routinely freed by a thread other than the one that allocated them, and
 * thread start-up and tear-down are part of the load.  After sleep_s seconds
 * the main thread raises a stop flag; every slot's last worker finishes,
 * then the main thread frees what remains.
 *
 * One op is one replacement (a free plus a malloc).  Output, on stdout:
 *
 *   larson: threads=T ops=N seconds=S ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * seconds is the wall time from the first worker's start to the last
 * worker's exit (a little over sleep_s).  rss_peak_kb is VmHWM (rss.h).  H is 1
 * when hakmem's hak_owns() is present in the process and claims a block
 * from malloc, 0 when not, so a run proves which allocator served it.
 *
 * Only plain malloc/free are called, so LD_PRELOAD picks the allocator.
 * Each block's first bytes hold a tag naming its (slot, index); the tag is
 * checked before every free, which catches an allocator that hands out
 * overlapping blocks.  --smoke caps the run at about 0.2 s and a small
 * working set, for CI.
 *
 * Threads: a slot is used by exactly one worker at a time; the hand-over
 * is ordered by pthread_create (old -> new) and by the new worker joining
 * the old one.  The main thread reads a slot only after its last worker has
 * posted `done`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rss.h"

#define TAG_MAX 8			/* bytes of each block we write and check */
#define STOP_CHECK_MASK 63		/* look at the stop flag every 64 ops */

struct params {
	double sleep_s;
	size_t min_size;
	size_t max_size;
	size_t chunks;
	unsigned long rounds;
	uint64_t seed;
	unsigned threads;
};

/*
 * One per thread of the benchmark.  All fields belong to the slot's current
 * worker (the main thread before the first one starts and after `done`).
 */
struct slot {
	unsigned idx;
	void **blocks;			/* chunks entries, never NULL after fill */
	uint64_t rng;			/* xorshift64* state, carried across workers */
	uint64_t ops;			/* replacements done by all workers */
	unsigned long workers;		/* threads that have held this slot */
	unsigned long spawn_failures;	/* pthread_create failures (kept going) */
	pthread_t pred;			/* worker to reap (the one that started us) */
	int has_pred;
	pthread_t self;			/* the slot's latest worker */
};

static struct params P;
static size_t tag_len;			/* min(min_size, TAG_MAX) */
static atomic_int stop;
static sem_t done;
static pthread_attr_t worker_attr;

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t rng_seed(uint64_t seed, unsigned idx)
{
	/* splitmix64 step, never 0 */
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (idx + 1);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t block_tag(unsigned slot, size_t i)
{
	return ((uint64_t)slot << 40 | (uint64_t)i) ^ 0xA5C3F00D5EEDULL;
}

static void *new_block(unsigned slot, size_t i, uint64_t *rng)
{
	size_t range = P.max_size - P.min_size + 1;
	size_t size = P.min_size + (size_t)(rng_next(rng) % range);
	uint64_t tag = block_tag(slot, i);
	void *p = malloc(size);

	if (!p && size) {
		fprintf(stderr, "larson: malloc(%zu) failed\n", size);
		exit(1);
	}
	if (tag_len)
		memcpy(p, &tag, tag_len);
	return p;
}

static void free_block(unsigned slot, size_t i, void *p)
{
	uint64_t tag = block_tag(slot, i);

	if (tag_len && memcmp(p, &tag, tag_len) != 0) {
		fprintf(stderr, "larson: block %p (slot %u, index %zu) was "
			"overwritten while live\n", p, slot, i);
		abort();
	}
	free(p);
}

/* One generation: rounds * chunks replacements, or fewer if stopped. */
static void run_generation(struct slot *s)
{
	uint64_t n = (uint64_t)P.rounds * P.chunks, i;

	for (i = 0; i < n; i++) {
		size_t victim = (size_t)(rng_next(&s->rng) % P.chunks);

		if ((i & STOP_CHECK_MASK) == 0 &&
		    atomic_load_explicit(&stop, memory_order_relaxed))
			break;
		free_block(s->idx, victim, s->blocks[victim]);
		s->blocks[victim] = new_block(s->idx, victim, &s->rng);
	}
	s->ops += i;
}

static void *worker(void *arg)
{
	struct slot *s = arg;
	pthread_t next;
	int err;

	if (s->has_pred)
		pthread_join(s->pred, NULL);
	s->self = pthread_self();
	s->workers++;
	for (;;) {
		run_generation(s);
		if (atomic_load_explicit(&stop, memory_order_relaxed))
			break;
		s->pred = pthread_self();
		s->has_pred = 1;
		err = pthread_create(&next, &worker_attr, worker, s);
		if (err == 0)
			return NULL;	/* the slot is the successor's now */
		s->has_pred = 0;
		s->spawn_failures++;
	}
	sem_post(&done);
	return NULL;
}

/*
 * hakmem=1 when hakmem's hak_owns() is in the process and claims a block
 * from malloc: proof that hakmem, not libc, served this run.
 */
static int served_by_hakmem(void)
{
	int (*owns)(const void *);
	void *p;
	int r;

	*(void **)&owns = dlsym(RTLD_DEFAULT, "hak_owns");
	if (!owns)
		return 0;
	p = malloc(P.min_size ? P.min_size : 1);
	r = p && owns(p);
	free(p);
	return r;
}

static void usage(void)
{
	fprintf(stderr, "usage: larson [--smoke] sleep_s min_size max_size "
		"chunks_per_thread rounds seed threads\n"
		"  e.g. larson 5 8 1000 5000 100 4141 2\n");
	exit(2);
}

static unsigned long long parse_num(const char *s, unsigned long long lo,
				    unsigned long long hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		usage();
	return v;
}

static void parse_args(int argc, char **argv)
{
	const char *pos[7];
	int npos = 0, smoke = 0, i;
	char *end;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			smoke = 1;
		else if (npos < 7)
			pos[npos++] = argv[i];
		else
			usage();
	}
	if (npos == 0) {
		static const char *defaults[7] = {
			"5", "8", "1000", "5000", "100", "4141", "2"
		};
		memcpy(pos, defaults, sizeof(pos));
	} else if (npos != 7) {
		usage();
	}
	errno = 0;
	P.sleep_s = strtod(pos[0], &end);
	if (errno || end == pos[0] || *end || !(P.sleep_s >= 0))
		usage();
	P.min_size = parse_num(pos[1], 0, 1ULL << 40);
	P.max_size = parse_num(pos[2], P.min_size, 1ULL << 40);
	P.chunks = parse_num(pos[3], 1, 1ULL << 32);
	P.rounds = parse_num(pos[4], 1, 1ULL << 32);
	P.seed = parse_num(pos[5], 0, UINT64_MAX);
	P.threads = parse_num(pos[6], 1, 4096);
	if (smoke) {
		if (P.sleep_s > 0.2)
			P.sleep_s = 0.2;
		if (P.chunks > 1000)
			P.chunks = 1000;
		if (P.rounds > 10)
			P.rounds = 10;
	}
	tag_len = P.min_size < TAG_MAX ? P.min_size : TAG_MAX;
}

int main(int argc, char **argv)
{
	struct slot *slots;
	struct timespec nap;
	double t0, secs;
	uint64_t ops = 0;
	unsigned t;
	size_t i;
	int hakmem;

	parse_args(argc, argv);
	hakmem = served_by_hakmem();

	slots = calloc(P.threads, sizeof(*slots));
	if (!slots || sem_init(&done, 0, 0) || pthread_attr_init(&worker_attr)) {
		fprintf(stderr, "larson: set-up failed\n");
		return 1;
	}
	for (t = 0; t < P.threads; t++) {
		struct slot *s = &slots[t];

		s->idx = t;
		s->rng = rng_seed(P.seed, t);
		s->blocks = malloc(P.chunks * sizeof(*s->blocks));
		if (!s->blocks) {
			fprintf(stderr, "larson: no memory for slot arrays\n");
			return 1;
		}
		for (i = 0; i < P.chunks; i++)
			s->blocks[i] = new_block(t, i, &s->rng);
	}

	t0 = now_s();
	for (t = 0; t < P.threads; t++) {
		/* the worker records its own id in slots[t].self */
		pthread_t tid;
		int err = pthread_create(&tid, &worker_attr, worker, &slots[t]);

		if (err) {
			fprintf(stderr, "larson: pthread_create: %s\n",
				strerror(err));
			return 1;
		}
	}
	nap.tv_sec = (time_t)P.sleep_s;
	nap.tv_nsec = (long)((P.sleep_s - (double)nap.tv_sec) * 1e9);
	while (nanosleep(&nap, &nap) && errno == EINTR)
		;
	atomic_store(&stop, 1);
	for (t = 0; t < P.threads; t++)
		while (sem_wait(&done) && errno == EINTR)
			;
	for (t = 0; t < P.threads; t++)
		pthread_join(slots[t].self, NULL);
	secs = now_s() - t0;

	for (t = 0; t < P.threads; t++) {
		struct slot *s = &slots[t];

		ops += s->ops;
		for (i = 0; i < P.chunks; i++)
			free_block(t, i, s->blocks[i]);
		free(s->blocks);
		if (s->spawn_failures)
			fprintf(stderr, "larson: slot %u: %lu successor threads "
				"could not start (worker kept going)\n",
				t, s->spawn_failures);
	}
	free(slots);
	printf("larson: threads=%u ops=%llu seconds=%.3f ops_per_sec=%.0f "
	       "rss_peak_kb=%ld hakmem=%d\n", P.threads,
	       (unsigned long long)ops, secs, secs > 0 ? ops / secs : 0.0,
	       bench_rss_peak_kb(), hakmem);
	return 0;
}
