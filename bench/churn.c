// SPDX-License-Identifier: MIT
/*
 * churn.c - short-lived threads that leave their blocks for others: a
 * thread-per-request server, or a pool that keeps replacing its workers.
 * The blocks outlive the thread that allocated them and are freed by a
 * later thread, so the allocator must hand a dead thread's memory on
 * (hakmem: publish and adopt its slabs) and keep RSS bounded.
 *
 *   churn [--smoke] [SCALE [THREADS]]        (THREADS default 2)
 *
 * A shared table of THREADS * 1024 slots, filled by the main thread.
 * 1000 * SCALE generations (--smoke: 10): each starts THREADS threads and
 * joins them.  A thread takes one slice of 1024 slots (a different slice
 * each generation), checks and frees each slot's block (allocated by a
 * thread that has exited) and mallocs a replacement of random size in
 * [16, 2048]; it also mallocs and frees 256 short-lived blocks of its
 * own, 16 at a time.  Output:
 *
 *   churn: threads=T generations=G thread_starts=N ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * ops counts replacements plus short-lived blocks.
 */
#include "bench_util.h"
#include <pthread.h>

#define PROG "churn"
#define SLICE 1024
#define MIN_SIZE 16
#define MAX_SIZE 2048
#define TEMP_ROUNDS 16
#define TEMP_BATCH 16

struct slot {
	void *ptr;
	uint32_t size;
	uint64_t id;
};

struct job {
	struct slot *slice;
	uint64_t rng;
	uint64_t next_id;		/* ids this job hands out */
};

static struct slot *table;

static void put(struct slot *s, uint64_t *rng, uint64_t id)
{
	s->size = (uint32_t)bench_range(rng, MIN_SIZE, MAX_SIZE);
	s->id = id;
	s->ptr = bench_malloc(PROG, s->size);
	bench_tag_write(s->ptr, s->size, id);
}

static void drop(struct slot *s)
{
	bench_tag_check(PROG, s->ptr, s->size, s->id);
	free(s->ptr);
	s->ptr = NULL;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	void *temp[TEMP_BATCH];
	unsigned i, r;

	for (i = 0; i < SLICE; i++) {
		drop(&j->slice[i]);
		put(&j->slice[i], &j->rng, j->next_id++);
	}
	for (r = 0; r < TEMP_ROUNDS; r++) {
		for (i = 0; i < TEMP_BATCH; i++) {
			size_t size = bench_range(&j->rng, MIN_SIZE, MAX_SIZE);

			temp[i] = bench_malloc(PROG, size);
			memset(temp[i], (int)i, size < 64 ? size : 64);
		}
		for (i = 0; i < TEMP_BATCH; i++)
			free(temp[TEMP_BATCH - 1 - i]);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	uint64_t gens = bench_count(&a, 1000, 10), g, ops;
	uint64_t rng = bench_seed(4141, 0), id = 0;
	int hakmem = bench_hakmem(MIN_SIZE);
	size_t nslots = (size_t)a.threads * SLICE, i;
	struct job *jobs = calloc(a.threads, sizeof(*jobs));
	pthread_t *tids = calloc(a.threads, sizeof(*tids));
	double t0, secs;
	unsigned t;

	table = calloc(nslots, sizeof(*table));
	if (!jobs || !tids || !table) {
		fprintf(stderr, PROG ": set-up failed\n");
		return 1;
	}
	for (i = 0; i < nslots; i++)
		put(&table[i], &rng, id++);
	for (t = 0; t < a.threads; t++)
		jobs[t].rng = bench_seed(4141, t + 1);
	t0 = bench_now();
	for (g = 0; g < gens; g++) {
		for (t = 0; t < a.threads; t++) {
			struct job *j = &jobs[t];

			j->slice = &table[((t + g) % a.threads) * SLICE];
			j->next_id = id;
			id += SLICE;
			if (pthread_create(&tids[t], NULL, worker, j)) {
				fprintf(stderr, PROG ": pthread_create failed\n");
				return 1;
			}
		}
		for (t = 0; t < a.threads; t++)
			pthread_join(tids[t], NULL);
	}
	secs = bench_now() - t0;
	for (i = 0; i < nslots; i++)
		drop(&table[i]);
	ops = gens * a.threads * (SLICE + TEMP_ROUNDS * TEMP_BATCH);
	printf(PROG ": threads=%u generations=%llu thread_starts=%llu ops=%llu "
	       "seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       a.threads, (unsigned long long)gens,
	       (unsigned long long)(gens * a.threads), (unsigned long long)ops,
	       secs, secs > 0 ? ops / secs : 0.0, bench_rss_peak_kb(), hakmem);
	free(table);
	free(jobs);
	free(tids);
	return 0;
}
