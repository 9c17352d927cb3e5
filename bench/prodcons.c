// SPDX-License-Identifier: MIT
/*
 * prodcons.c - several producers and several consumers sharing one queue:
 * a work queue of small messages.  A consumer frees blocks that any of the
 * producers allocated, so the frees are remote and their owners many.
 *
 *   prodcons [--smoke] [SCALE [THREADS]]      (THREADS default 2)
 *
 * P = max(2, THREADS/2) producers and as many consumers.  The queue is a
 * ring of 4096 pointers under one mutex, with a condition variable for
 * "not full" and one for "not empty".  Each producer mallocs 8,000,000 *
 * SCALE blocks (--smoke: 5,000) of random size in [16, 256], writes its
 * first and last 8 bytes (its address mixed with its size, so a consumer
 * can check it and recover the size), and pushes them 16 at a time, one
 * lock acquisition per group; a consumer pops up to 16 per acquisition,
 * checks them, clears the first word (so that a block malloc handed out
 * twice fails its second check) and frees them.  Output:
 *
 *   prodcons: threads=T producers=P consumers=P min=16 max=256 ops=N
 *     seconds=S ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * ops counts blocks passed; seconds runs from the start barrier to the
 * last thread's end.
 */
#include "bench_util.h"
#include <pthread.h>

#define PROG "prodcons"
#define QUEUE 4096			/* a power of two */
#define GROUP 16
#define MIN_SIZE 16
#define MAX_SIZE 256

static struct {
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	size_t head, count;
	uint64_t popped, total;
	void *ring[QUEUE];
} q = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, { 0 },
};

struct worker {
	pthread_t tid;
	unsigned idx;
	uint64_t count;			/* producer: blocks to make */
	double end;
};

static pthread_barrier_t start;
static double t_start;

static uint64_t mark(const void *p, size_t size)
{
	return bench_tag((uintptr_t)p) ^ size;
}

static void *producer(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = bench_seed(4141, w->idx), made = 0;
	void *group[GROUP];

	pthread_barrier_wait(&start);
	if (w->idx == 0)
		t_start = bench_now();
	while (made < w->count) {
		unsigned n = w->count - made < GROUP ?
			     (unsigned)(w->count - made) : GROUP, i = 0;

		for (i = 0; i < n; i++) {
			size_t size = bench_range(&rng, MIN_SIZE, MAX_SIZE);
			uint64_t *p = bench_malloc(PROG, size);

			p[0] = mark(p, size);
			memcpy((char *)p + size - 8, &p[0], 8);
			group[i] = p;
		}
		made += n;
		pthread_mutex_lock(&q.mu);
		for (i = 0; i < n; ) {
			while (q.count == QUEUE)
				pthread_cond_wait(&q.not_full, &q.mu);
			while (i < n && q.count < QUEUE)
				q.ring[(q.head + q.count++) % QUEUE] = group[i++];
			pthread_cond_signal(&q.not_empty);
		}
		pthread_mutex_unlock(&q.mu);
	}
	w->end = bench_now();
	return NULL;
}

static void check(uint64_t *p)
{
	size_t size = p[0] ^ bench_tag((uintptr_t)p);
	uint64_t end = 0;

	if (size >= MIN_SIZE && size <= MAX_SIZE)
		memcpy(&end, (char *)p + size - 8, 8);
	if (size < MIN_SIZE || size > MAX_SIZE || end != p[0]) {
		fprintf(stderr, PROG ": block %p was overwritten in the "
			"queue\n", (void *)p);
		abort();
	}
}

static void *consumer(void *arg)
{
	struct worker *w = arg;
	void *group[GROUP];

	pthread_barrier_wait(&start);
	for (;;) {
		unsigned n = 0, i;

		pthread_mutex_lock(&q.mu);
		while (q.count == 0 && q.popped < q.total)
			pthread_cond_wait(&q.not_empty, &q.mu);
		if (q.count == 0) {		/* everything passed */
			pthread_cond_broadcast(&q.not_empty);
			pthread_mutex_unlock(&q.mu);
			break;
		}
		while (n < GROUP && q.count) {
			group[n++] = q.ring[q.head];
			q.head = (q.head + 1) % QUEUE;
			q.count--;
		}
		q.popped += n;
		if (q.popped == q.total)	/* wake the others to leave */
			pthread_cond_broadcast(&q.not_empty);
		pthread_cond_signal(&q.not_full);
		pthread_mutex_unlock(&q.mu);
		for (i = 0; i < n; i++) {
			check(group[i]);
			/* a block handed out twice while live fails the
			 * check of its second copy */
			*(volatile uint64_t *)group[i] = 0;	/* kept */
			free(group[i]);
		}
	}
	w->end = bench_now();
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	unsigned np = a.threads / 2 > 2 ? a.threads / 2 : 2, t;
	uint64_t per = bench_count(&a, 8e6, 5000);
	int hakmem = bench_hakmem(MIN_SIZE);
	struct worker *w = calloc(2 * np, sizeof(*w));
	double end = 0;

	if (!w || pthread_barrier_init(&start, NULL, 2 * np)) {
		fprintf(stderr, PROG ": set-up failed\n");
		return 1;
	}
	q.total = per * np;
	for (t = 0; t < 2 * np; t++) {
		w[t].idx = t;
		w[t].count = per;
		if (pthread_create(&w[t].tid, NULL,
				   t < np ? producer : consumer, &w[t])) {
			fprintf(stderr, PROG ": pthread_create failed\n");
			return 1;
		}
	}
	for (t = 0; t < 2 * np; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].end > end)
			end = w[t].end;
	}
	if (q.popped != q.total || q.count) {
		fprintf(stderr, PROG ": %llu of %llu blocks consumed\n",
			(unsigned long long)q.popped,
			(unsigned long long)q.total);
		return 1;
	}
	end -= t_start;
	printf(PROG ": threads=%u producers=%u consumers=%u min=%d max=%d "
	       "ops=%llu seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld "
	       "hakmem=%d\n", 2 * np, np, np, MIN_SIZE, MAX_SIZE,
	       (unsigned long long)q.total, end,
	       end > 0 ? q.total / end : 0.0, bench_rss_peak_kb(), hakmem);
	free(w);
	return 0;
}
