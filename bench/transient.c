// SPDX-License-Identifier: MIT
/*
 * transient.c - generations of threads that live a few milliseconds each
 * and leave half of their blocks to the next generation: worker threads
 * started per task, whose results outlive them.  The allocator must hand
 * a dead thread's half-empty slabs on and take the remote frees into them,
 * over and over, without mapping and unmapping the same memory each time.
 *
 *   transient [--smoke] [SCALE [THREADS]]      (THREADS default 2)
 *
 * 200 * SCALE generations (--smoke: 4) of THREADS threads, started
 * together and joined together.  Thread i of a generation checks and
 * frees the 8192 blocks that thread i+1 (mod THREADS) of the previous
 * generation left (it has exited; their owner is gone), mallocs 16384
 * blocks of random size in [16, 1024], tags them, frees every other one
 * (newest first) and leaves the other 8192 to the next generation.  The
 * main thread frees what the last generation left.  Output:
 *
 *   transient: threads=T generations=G thread_starts=N ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * ops counts mallocs (each block is freed once, by its thread or the
 * next); seconds covers every generation, thread starts and joins
 * included.
 */
#include "bench_util.h"
#include <pthread.h>

#define PROG "transient"
#define MADE 16384			/* blocks a thread mallocs */
#define LEFT (MADE / 2)			/* ... and leaves behind */
#define MIN_SIZE 16
#define MAX_SIZE 1024

struct slot {
	void *ptr;
	uint32_t size;
	uint64_t id;
};

struct job {
	struct slot *take;		/* the predecessor's leftovers, or NULL */
	struct slot *leave;		/* LEFT slots for our successor */
	struct slot *mine;		/* MADE slots of scratch */
	uint64_t rng;
	uint64_t id0;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	unsigned i;

	if (j->take)
		for (i = 0; i < LEFT; i++) {
			struct slot *s = &j->take[i];

			bench_tag_check(PROG, s->ptr, s->size, s->id);
			free(s->ptr);
		}
	for (i = 0; i < MADE; i++) {
		struct slot *s = &j->mine[i];

		s->size = (uint32_t)bench_range(&j->rng, MIN_SIZE, MAX_SIZE);
		s->id = j->id0 + i;
		s->ptr = bench_malloc(PROG, s->size);
		bench_tag_write(s->ptr, s->size, s->id);
	}
	for (i = MADE; i-- > 0; ) {
		struct slot *s = &j->mine[i];

		if (i % 2) {
			bench_tag_check(PROG, s->ptr, s->size, s->id);
			free(s->ptr);
		} else {
			j->leave[i / 2] = *s;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	uint64_t gens = bench_count(&a, 200, 4), g, id = 0;
	int hakmem = bench_hakmem(MIN_SIZE);
	unsigned nt = a.threads, t, i;
	/* left[g % 2][t]: what thread t of generation g leaves */
	struct slot *left = calloc(2 * (size_t)nt * LEFT, sizeof(*left));
	struct slot *scratch = calloc((size_t)nt * MADE, sizeof(*scratch));
	struct job *jobs = calloc(nt, sizeof(*jobs));
	pthread_t *tids = calloc(nt, sizeof(*tids));
	double t0, secs;

	if (!left || !scratch || !jobs || !tids) {
		fprintf(stderr, PROG ": set-up failed\n");
		return 1;
	}
	for (t = 0; t < nt; t++) {
		jobs[t].rng = bench_seed(4141, t);
		jobs[t].mine = &scratch[(size_t)t * MADE];
	}
	t0 = bench_now();
	for (g = 0; g < gens; g++) {
		struct slot *now = &left[(g % 2) * nt * LEFT];
		struct slot *prev = &left[((g + 1) % 2) * nt * LEFT];

		for (t = 0; t < nt; t++) {
			struct job *j = &jobs[t];

			j->take = g ? &prev[((t + 1) % nt) * LEFT] : NULL;
			j->leave = &now[t * LEFT];
			j->id0 = id;
			id += MADE;
			if (pthread_create(&tids[t], NULL, worker, j)) {
				fprintf(stderr, PROG ": pthread_create failed\n");
				return 1;
			}
		}
		for (t = 0; t < nt; t++)
			pthread_join(tids[t], NULL);
	}
	secs = bench_now() - t0;
	for (t = 0; t < nt; t++)
		for (i = 0; i < LEFT; i++) {
			struct slot *s = &left[((gens - 1) % 2) * nt * LEFT +
					       t * LEFT + i];

			bench_tag_check(PROG, s->ptr, s->size, s->id);
			free(s->ptr);
		}
	printf(PROG ": threads=%u generations=%llu thread_starts=%llu "
	       "ops=%llu seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld "
	       "hakmem=%d\n", nt, (unsigned long long)gens,
	       (unsigned long long)(gens * nt),
	       (unsigned long long)(gens * nt * MADE), secs,
	       secs > 0 ? gens * nt * MADE / secs : 0.0, bench_rss_peak_kb(),
	       hakmem);
	free(left);
	free(scratch);
	free(jobs);
	free(tids);
	return 0;
}
