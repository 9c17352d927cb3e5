// SPDX-License-Identifier: MIT
/*
 * xthread.c - producer/consumer: one thread mallocs, another frees, so
 * every free is a remote free (hakmem: a CAS onto the slab's remote queue,
 * drained when the producer refills).
 *
 *   xthread [--smoke] [SCALE [THREADS]]      (THREADS default 2: one pair)
 *
 * THREADS/2 pairs (at least one).  In each pair the producer mallocs
 * 10,000,000 * SCALE blocks (--smoke: 20,000) of random size in [16, 512],
 * writes its first and last 8 bytes (the block's number, mixed with its
 * size: so the consumer can recover the size), and passes them through a
 * single-producer single-consumer ring of 1024 pointers; the consumer
 * checks each block and frees it.  The ring's indices are published every
 * 32 blocks, and a thread that finds the ring full (empty) spins briefly,
 * then yields.  Output:
 *
 *   xthread: threads=T pairs=P min=16 max=512 ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * ops counts blocks passed; seconds runs from the start barrier to the
 * last consumer's end.
 */
#include "bench_util.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define PROG "xthread"
#define RING 1024			/* a power of two */
#define BATCH 32
#define MIN_SIZE 16
#define MAX_SIZE 512
#define SPINS 64

/* One producer/consumer pair.  head: consumer's; tail: producer's. */
struct chan {
	_Alignas(64) atomic_size_t head;	/* next slot to consume */
	_Alignas(64) atomic_size_t tail;	/* next slot to fill */
	_Alignas(64) void *ring[RING];
	uint64_t count;				/* blocks to pass */
	unsigned idx;
	pthread_t prod, cons;
	double end;				/* consumer's finish time */
};

static pthread_barrier_t start;
static double t_start;

static void wait_a_bit(unsigned *spins)
{
	if (++*spins < SPINS)
		__builtin_ia32_pause();
	else
		sched_yield();
}

static void *producer(void *arg)
{
	struct chan *c = arg;
	uint64_t rng = bench_seed(4141, c->idx), i;
	size_t tail = 0, head = 0;

	pthread_barrier_wait(&start);
	if (c->idx == 0)
		t_start = bench_now();
	for (i = 0; i < c->count; i++) {
		size_t size = bench_range(&rng, MIN_SIZE, MAX_SIZE);
		uint64_t *p = bench_malloc(PROG, size);
		uint64_t tag = bench_tag(i) ^ size;
		unsigned spins = 0;

		p[0] = tag;
		memcpy((char *)p + size - 8, &tag, 8);
		while (tail - head >= RING) {
			atomic_store_explicit(&c->tail, tail,
					      memory_order_release);
			head = atomic_load_explicit(&c->head,
						    memory_order_acquire);
			if (tail - head >= RING)
				wait_a_bit(&spins);
		}
		c->ring[tail & (RING - 1)] = p;
		tail++;
		if (tail % BATCH == 0)
			atomic_store_explicit(&c->tail, tail,
					      memory_order_release);
	}
	atomic_store_explicit(&c->tail, tail, memory_order_release);
	return NULL;
}

static void *consumer(void *arg)
{
	struct chan *c = arg;
	size_t head = 0, tail = 0;
	unsigned spins = 0;

	pthread_barrier_wait(&start);
	while (head < c->count) {
		if (head == tail) {
			atomic_store_explicit(&c->head, head,
					      memory_order_release);
			tail = atomic_load_explicit(&c->tail,
						    memory_order_acquire);
			if (head == tail) {
				wait_a_bit(&spins);
				continue;
			}
			spins = 0;
		}
		uint64_t *p = c->ring[head & (RING - 1)], end_tag;
		size_t size = p[0] ^ bench_tag(head);

		if (size >= MIN_SIZE && size <= MAX_SIZE)
			memcpy(&end_tag, (char *)p + size - 8, 8);
		if (size < MIN_SIZE || size > MAX_SIZE || end_tag != p[0]) {
			fprintf(stderr, PROG ": block %p (number %zu) was "
				"overwritten in flight\n", (void *)p, head);
			abort();
		}
		free(p);
		head++;
		if (head % BATCH == 0)
			atomic_store_explicit(&c->head, head,
					      memory_order_release);
	}
	c->end = bench_now();
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	unsigned pairs = a.threads / 2 ? a.threads / 2 : 1, i;
	uint64_t per_pair = bench_count(&a, 1e7, 20000), ops = 0;
	int hakmem = bench_hakmem(MIN_SIZE);
	struct chan *c = aligned_alloc(64, pairs * sizeof(*c));
	double end = 0;

	if (!c || pthread_barrier_init(&start, NULL, 2 * pairs)) {
		fprintf(stderr, PROG ": set-up failed\n");
		return 1;
	}
	memset(c, 0, pairs * sizeof(*c));
	for (i = 0; i < pairs; i++) {
		c[i].idx = i;
		c[i].count = per_pair;
		if (pthread_create(&c[i].cons, NULL, consumer, &c[i]) ||
		    pthread_create(&c[i].prod, NULL, producer, &c[i])) {
			fprintf(stderr, PROG ": pthread_create failed\n");
			return 1;
		}
	}
	for (i = 0; i < pairs; i++) {
		pthread_join(c[i].prod, NULL);
		pthread_join(c[i].cons, NULL);
		ops += c[i].count;
		if (c[i].end > end)
			end = c[i].end;
	}
	end -= t_start;
	printf(PROG ": threads=%u pairs=%u min=%d max=%d ops=%llu "
	       "seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       2 * pairs, pairs, MIN_SIZE, MAX_SIZE, (unsigned long long)ops,
	       end, end > 0 ? ops / end : 0.0, bench_rss_peak_kb(), hakmem);
	free(c);
	return 0;
}
