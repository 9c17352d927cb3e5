/* SPDX-License-Identifier: MIT */
/*
 * workers.h - the harness of the benchmarks whose THREADS threads each do
 * an equal share of the operations on a working set of their own
 * (mid_large_mt, mid_random_mt): start the threads, let each fill its
 * working set, start the clock when all are ready, stop it at the last
 * one's end.
 *
 * A program's worker function gets a struct bench_worker, calls
 * bench_workers_go() once its set-up is done, does w->ops operations and
 * stores bench_now() in w->end before it cleans up.
 */
#ifndef HAKMEM_BENCH_WORKERS_H
#define HAKMEM_BENCH_WORKERS_H

#include <pthread.h>

#include "bench_util.h"

struct bench_worker {
	pthread_t tid;
	unsigned idx;			/* 0 .. THREADS - 1 */
	uint64_t ops;			/* its share; the ops it did */
	double end;			/* bench_now() at its timed part's end */
};

static pthread_barrier_t bench_ready;
static double bench_t0;			/* worker 0's, read after the joins */

/* bench_workers_go - @w is set up: wait for the others; the clock starts */
static inline void bench_workers_go(const struct bench_worker *w)
{
	pthread_barrier_wait(&bench_ready);
	if (w->idx == 0)
		bench_t0 = bench_now();
}

/*
 * bench_workers_run - run @fn on @n threads, @ops operations each; the
 * operations done, and in *@seconds the time from the start of the clock
 * to the last worker's end.  A thread that cannot start ends the program.
 */
static uint64_t bench_workers_run(const char *prog, unsigned n, uint64_t ops,
				  void *(*fn)(void *), double *seconds)
{
	struct bench_worker *w = calloc(n, sizeof(*w));
	uint64_t done = 0;
	double end = 0;
	unsigned t;

	if (!w || pthread_barrier_init(&bench_ready, NULL, n)) {
		fprintf(stderr, "%s: set-up failed\n", prog);
		exit(1);
	}
	for (t = 0; t < n; t++) {
		w[t].idx = t;
		w[t].ops = ops;
		if (pthread_create(&w[t].tid, NULL, fn, &w[t])) {
			fprintf(stderr, "%s: pthread_create failed\n", prog);
			exit(1);
		}
	}
	for (t = 0; t < n; t++) {
		pthread_join(w[t].tid, NULL);
		done += w[t].ops;
		if (w[t].end > end)
			end = w[t].end;
	}
	*seconds = end - bench_t0;
	free(w);
	return done;
}

#endif /* HAKMEM_BENCH_WORKERS_H */
