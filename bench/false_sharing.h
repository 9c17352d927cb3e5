/* SPDX-License-Identifier: MIT */
/*
 * false_sharing.h - the body of cache_scratch and cache_thrash: threads
 * that each malloc a small object, write it over and over, free it, and
 * repeat.  An allocator that hands two threads objects in the same cache
 * line makes every write a cache miss (false sharing).
 *
 *   active  (cache_thrash):  each thread's own mallocs must not share a
 *           line with another thread's.
 *   passive (cache_scratch): the main thread first mallocs one object per
 *           thread (neighbours, most likely) and gives each thread one;
 *           the thread frees it before its loop.  An allocator that reuses
 *           that block for the thread's next malloc keeps the sharing.
 *
 * Per thread: 5000 * SCALE objects (--smoke: 20), each written 10,000
 * times byte by byte (8 bytes: 80,000 writes).  ops counts byte writes.
 * Output (NAME is the program):
 *
 *   NAME: threads=T objsize=8 objects=N writes=W ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 */
#ifndef HAKMEM_BENCH_FALSE_SHARING_H
#define HAKMEM_BENCH_FALSE_SHARING_H

#include "bench_util.h"
#include <pthread.h>

#define FS_OBJSIZE 8
#define FS_REPS 10000

struct fs_worker {
	pthread_t tid;
	void *given;			/* passive: freed before the loop */
	uint64_t objects;
	double end;
};

static pthread_barrier_t fs_start;
static const char *fs_prog;

static void *fs_worker(void *arg)
{
	struct fs_worker *w = arg;
	uint64_t i;
	unsigned r, j;

	pthread_barrier_wait(&fs_start);
	free(w->given);
	for (i = 0; i < w->objects; i++) {
		volatile unsigned char *p = bench_malloc(fs_prog, FS_OBJSIZE);

		for (r = 0; r < FS_REPS; r++)
			for (j = 0; j < FS_OBJSIZE; j++)
				p[j]++;
		free((void *)p);
	}
	w->end = bench_now();
	return NULL;
}

static int fs_main(int argc, char **argv, const char *prog, int passive)
{
	struct bench_args a = bench_parse(argc, argv, prog, NULL);
	uint64_t objects = bench_count(&a, 5000, 20), ops;
	int hakmem = bench_hakmem(FS_OBJSIZE);
	struct fs_worker *w = calloc(a.threads, sizeof(*w));
	double t0, end = 0;
	unsigned t;

	fs_prog = prog;
	if (!w || pthread_barrier_init(&fs_start, NULL, a.threads + 1)) {
		fprintf(stderr, "%s: set-up failed\n", prog);
		return 1;
	}
	for (t = 0; t < a.threads; t++) {
		w[t].objects = objects;
		if (passive)
			w[t].given = bench_malloc(prog, FS_OBJSIZE);
	}
	for (t = 0; t < a.threads; t++)
		if (pthread_create(&w[t].tid, NULL, fs_worker, &w[t])) {
			fprintf(stderr, "%s: pthread_create failed\n", prog);
			return 1;
		}
	t0 = bench_now();
	pthread_barrier_wait(&fs_start);
	for (t = 0; t < a.threads; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].end > end)
			end = w[t].end;
	}
	end -= t0;
	ops = (uint64_t)a.threads * objects * FS_REPS * FS_OBJSIZE;
	printf("%s: threads=%u objsize=%d objects=%llu writes=%d ops=%llu "
	       "seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       prog, a.threads, FS_OBJSIZE, (unsigned long long)objects,
	       FS_REPS * FS_OBJSIZE, (unsigned long long)ops, end,
	       end > 0 ? ops / end : 0.0, bench_rss_peak_kb(), hakmem);
	free(w);
	return 0;
}

#endif /* HAKMEM_BENCH_FALSE_SHARING_H */
