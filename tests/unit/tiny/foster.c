// SPDX-License-Identifier: MIT
/*
 * unit/tiny/foster.c - adopt on free, white-box.  A thread allocates
 * blocks of one class and exits: its slab is published.  Then:
 *  1. the main thread's first free into it adopts it: the slab is the main
 *     heap's, on its foster list (HAK_TAG_FOSTER), one block fewer in use;
 *  2. a refill of that class takes the fostered slab (flag cleared) before
 *     it maps anything;
 *  3. with a second exited thread's slab: the free of its last block
 *     releases the fostered slab at once (nothing hoarded).
 * Calls tiny directly (no tracked-flavour redzones change the class).
 */
#include <pthread.h>

#include "helpers.h"
#include "tiny/tiny_internal.h"
#include "unit/tiny/tiny_test.h"

#define SIZE	4096
#define NBLK	8

static void *blk[NBLK];

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < NBLK; i++)
		blk[i] = hak_tiny_alloc(SIZE);
	return NULL;
}

/* run - a thread allocates blk[] and exits (publishing its slab) */
static struct hak_slab *run(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, producer, NULL) || pthread_join(t, NULL))
		t_die("thread");
	for (int i = 0; i < NBLK; i++)
		if (!blk[i] || slab_of(blk[i]) != slab_of(blk[0]))
			t_die("blocks not from one slab");
	return slab_of(blk[0]);
}

int main(void)
{
	unsigned c = hak_tiny_class(SIZE);
	struct hak_heap *h;
	struct hak_slab *s;
	uint64_t adopts, released;
	void *p;

	/* the main thread's heap, with nothing of class c */
	tfree(hak_tiny_alloc(16));
	h = me();
	s = run();
	CHECK(atomic_load(&s->owner_tag) & HAK_TAG_PUBLISHED,
	      "exited thread's slab not published (tag %lx)",
	      (unsigned long)atomic_load(&s->owner_tag));

	/* 1: a free adopts it onto the foster list */
	adopts = stat_of(c, TS_ADOPT);
	tfree(blk[0]);
	CHECK(atomic_load(&s->owner_tag) == ((uintptr_t)h | HAK_TAG_FOSTER),
	      "after the free: tag %lx, want heap %p + FOSTER",
	      (unsigned long)atomic_load(&s->owner_tag), (void *)h);
	CHECK(h->foster[c] == s && s->used == NBLK - 1,
	      "not on the foster list (used %u)", s->used);
	CHECK(stat_of(c, TS_ADOPT) == adopts + 1, "adopt not counted");

	/* 2: refill takes the fostered slab, flag cleared */
	CHECK(h->cur[c] == &hak_tiny_empty_slab, "class %u already has a slab",
	      c);
	p = hak_tiny_alloc(SIZE);
	CHECK(p == blk[0] && h->cur[c] == s && !h->foster[c] &&
	      atomic_load(&s->owner_tag) == (uintptr_t)h,
	      "refill did not take the fostered slab (tag %lx)",
	      (unsigned long)atomic_load(&s->owner_tag));
	tfree(p);
	for (int i = 1; i < NBLK; i++)
		tfree(blk[i]);

	/* 3: a fostered slab goes back the moment its last block does */
	s = run();
	released = stat_of(c, TS_SLAB_FREE);
	for (int i = 0; i < NBLK; i++)
		tfree(blk[i]);
	CHECK(!h->foster[c], "fostered slab still held after its last free");
	CHECK(stat_of(c, TS_SLAB_FREE) == released + 1,
	      "fostered slab not released (%lu releases)",
	      (unsigned long)(stat_of(c, TS_SLAB_FREE) - released));
	return t_result();
}
