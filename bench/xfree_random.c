// SPDX-License-Identifier: MIT
/*
 * xfree_random.c - many threads freeing each other's blocks: each thread
 * mallocs batches of random sizes, hands every batch to another thread and
 * frees the batches the others handed it.  Every block is freed by a
 * thread that did not allocate it, and every thread is both a producer and
 * a consumer (unlike xthread's fixed pairs).
 *
 *   xfree_random [--smoke] [SCALE [THREADS]]      (THREADS default 2)
 *
 * Each thread runs 200,000 * SCALE rounds (--smoke: 200), in three phases:
 * malloc a batch of 64 blocks of random size in [8, 1024] and tag them;
 * put the batch into the inbox of another thread picked at random (a
 * mutex-guarded ring of 8 batches per thread; when the inbox is full the
 * sender empties its own first and tries again); check and free every
 * block of the batches in its own inbox.  A batch's descriptor (656 B) is
 * malloc'd by its sender and freed by its receiver too.  A thread that has
 * sent all its batches keeps emptying its inbox until every thread has.
 * With one thread, the thread is its own receiver.  Output:
 *
 *   xfree_random: threads=T rounds=R batch=64 min=8 max=1024 ops=N
 *     seconds=S ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * ops counts blocks passed (a malloc, and a free by another thread);
 * seconds runs from the start barrier to the last thread's end.
 */
#include "bench_util.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define PROG "xfree_random"
#define BATCH 64
#define INBOX 8
#define MIN_SIZE 8
#define MAX_SIZE 1024

struct batch {
	uint32_t n;
	uint32_t from;
	uint64_t id0;			/* block i has id id0 + i */
	uint16_t size[BATCH];
	void *p[BATCH];
};

struct inbox {
	_Alignas(64) pthread_mutex_t mu;
	unsigned head, count;
	struct batch *ring[INBOX];
};

struct worker {
	_Alignas(64) pthread_t tid;
	unsigned idx;
	uint64_t rounds, freed;
	double end;
};

static struct inbox *inbox;
static unsigned nthreads;
static atomic_uint senders_done;
static pthread_barrier_t start;
static double t_start;

static struct batch *make_batch(struct worker *w, uint64_t *rng,
				uint64_t id0)
{
	struct batch *b = bench_malloc(PROG, sizeof(*b));
	unsigned i;

	b->n = BATCH;
	b->from = w->idx;
	b->id0 = id0;
	for (i = 0; i < BATCH; i++) {
		size_t size = bench_range(rng, MIN_SIZE, MAX_SIZE);

		b->size[i] = (uint16_t)size;
		b->p[i] = bench_malloc(PROG, size);
		bench_tag_write(b->p[i], size, id0 + i);
	}
	return b;
}

static int push(struct inbox *in, struct batch *b)
{
	int ok = 0;

	pthread_mutex_lock(&in->mu);
	if (in->count < INBOX) {
		in->ring[(in->head + in->count++) % INBOX] = b;
		ok = 1;
	}
	pthread_mutex_unlock(&in->mu);
	return ok;
}

/* Take everything out of this thread's inbox, then free it unlocked. */
static unsigned drain(struct worker *w)
{
	struct inbox *in = &inbox[w->idx];
	struct batch *got[INBOX];
	unsigned n, i, k;

	pthread_mutex_lock(&in->mu);
	n = in->count;
	for (i = 0; i < n; i++)
		got[i] = in->ring[(in->head + i) % INBOX];
	in->head = (in->head + n) % INBOX;
	in->count = 0;
	pthread_mutex_unlock(&in->mu);
	for (i = 0; i < n; i++) {
		struct batch *b = got[i];

		for (k = 0; k < b->n; k++) {
			bench_tag_check(PROG, b->p[k], b->size[k], b->id0 + k);
			free(b->p[k]);
		}
		w->freed += b->n;
		free(b);
	}
	return n;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = bench_seed(4141, w->idx), r;
	/* ids: thread in the top bits, so no two live blocks share one */
	uint64_t id = (uint64_t)w->idx << 40;

	pthread_barrier_wait(&start);
	if (w->idx == 0)
		t_start = bench_now();
	for (r = 0; r < w->rounds; r++) {
		struct batch *b = make_batch(w, &rng, id);
		unsigned tries = 0;

		id += BATCH;
		for (;;) {
			unsigned to = w->idx;

			if (nthreads > 1)
				to = (w->idx + 1 + (unsigned)bench_range(
					&rng, 0, nthreads - 2)) % nthreads;
			if (push(&inbox[to], b))
				break;
			if (!drain(w) && ++tries > 4)
				sched_yield();
		}
		drain(w);
	}
	/* release: our pushes happen before another thread's last drain */
	atomic_fetch_add_explicit(&senders_done, 1, memory_order_release);
	while (atomic_load_explicit(&senders_done, memory_order_acquire) <
	       nthreads)
		if (!drain(w))
			sched_yield();
	drain(w);
	w->end = bench_now();
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	uint64_t rounds = bench_count(&a, 2e5, 200), ops = 0, freed = 0;
	int hakmem = bench_hakmem(MIN_SIZE);
	struct worker *w;
	double end = 0;
	unsigned t;

	nthreads = a.threads;
	w = aligned_alloc(64, nthreads * sizeof(*w));
	inbox = aligned_alloc(64, nthreads * sizeof(*inbox));
	if (!w || !inbox || pthread_barrier_init(&start, NULL, nthreads)) {
		fprintf(stderr, PROG ": set-up failed\n");
		return 1;
	}
	memset(w, 0, nthreads * sizeof(*w));
	memset(inbox, 0, nthreads * sizeof(*inbox));
	for (t = 0; t < nthreads; t++)
		pthread_mutex_init(&inbox[t].mu, NULL);
	for (t = 0; t < nthreads; t++) {
		w[t].idx = t;
		w[t].rounds = rounds;
		if (pthread_create(&w[t].tid, NULL, worker, &w[t])) {
			fprintf(stderr, PROG ": pthread_create failed\n");
			return 1;
		}
	}
	for (t = 0; t < nthreads; t++) {
		pthread_join(w[t].tid, NULL);
		ops += w[t].rounds * BATCH;
		freed += w[t].freed;
		if (w[t].end > end)
			end = w[t].end;
	}
	if (freed != ops) {
		fprintf(stderr, PROG ": %llu blocks sent but %llu freed\n",
			(unsigned long long)ops, (unsigned long long)freed);
		return 1;
	}
	end -= t_start;
	printf(PROG ": threads=%u rounds=%llu batch=%d min=%d max=%d ops=%llu "
	       "seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       nthreads, (unsigned long long)rounds, BATCH, MIN_SIZE, MAX_SIZE,
	       (unsigned long long)ops, end, end > 0 ? ops / end : 0.0,
	       bench_rss_peak_kb(), hakmem);
	free(inbox);
	free(w);
	return 0;
}
