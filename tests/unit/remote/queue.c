// SPDX-License-Identifier: MIT
/*
 * unit/remote/queue.c - the MPSC remote queue under contention: producers
 * push every block of a slab while the owner drains concurrently.  Every
 * block arrives exactly once, and each empty -> non-empty transition that a
 * push reports is consumed by exactly one non-empty take.
 */
#include <pthread.h>

#include "helpers.h"
#include "remote/remote.h"
#include "superslab/superslab.h"
#include "unit/remote/fake_slab.h"

#define PRODUCERS 3

static struct hak_slab *slab;
static uint32_t nblocks;
static _Atomic unsigned long firsts;
static _Atomic int producers_done;

static void *producer(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	char *start = hak_ss_slab_start(slab);
	unsigned long mine = 0;

	for (uint32_t k = id; k < nblocks; k += PRODUCERS)
		if (hak_remote_push(slab, start + (size_t)k * slab->stride))
			mine++;
	atomic_fetch_add(&firsts, mine);
	atomic_fetch_add(&producers_done, 1);
	return NULL;
}

struct seen {
	unsigned char *map;
	unsigned long n, dup, stray;
};

static void sink(void *ctx, void *blk)
{
	struct seen *s = ctx;
	char *start = hak_ss_slab_start(slab);
	size_t off = (size_t)((char *)blk - start);

	if (off % slab->stride || off / slab->stride >= nblocks) {
		s->stray++;
		return;
	}
	if (s->map[off / slab->stride]++)
		s->dup++;
	s->n++;
}

int main(int argc, char **argv)
{
	int rounds = t_smoke(argc, argv) ? 20 : 200;

	slab = fake_slab(16, 16);
	if (!slab)
		t_die("acquire");
	nblocks = slab->capacity;
	for (int r = 0; r < rounds; r++) {
		pthread_t t[PRODUCERS];
		struct seen s = { .map = calloc(nblocks, 1) };
		unsigned long takes = 0;

		atomic_store(&firsts, 0);
		atomic_store(&producers_done, 0);
		for (unsigned i = 0; i < PRODUCERS; i++)
			pthread_create(&t[i], NULL, producer,
				       (void *)(uintptr_t)i);
		for (;;) {
			int done = atomic_load(&producers_done) == PRODUCERS;

			if (hak_remote_drain(slab, sink, &s))
				takes++;
			if (done && !hak_remote_pending(slab))
				break;
		}
		for (unsigned i = 0; i < PRODUCERS; i++)
			pthread_join(t[i], NULL);
		if (hak_remote_drain(slab, sink, &s))
			takes++;
		CHECK(s.n == nblocks && !s.dup && !s.stray,
		      "round %d: got %lu of %u, %lu dup, %lu stray", r, s.n,
		      nblocks, s.dup, s.stray);
		CHECK(takes == atomic_load(&firsts),
		      "round %d: %lu non-empty takes, %lu first pushes", r,
		      takes, atomic_load(&firsts));
		free(s.map);
		if (t_failed())
			break;
	}
	slab->used = 0;
	fake_release(slab);
	return t_result();
}
