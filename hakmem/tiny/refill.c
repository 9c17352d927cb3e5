// SPDX-License-Identifier: MIT
/*
 * tiny/refill.c - the allocation slow path, next to the fast path it
 * refills: the current slab's remote frees and never-carved blocks, then
 * the full slabs that remote frees hinted, the partial list, the foster
 * list, the mailbox, and only then a new slab from the superslab box.
 *
 * Why the hint is enough: a remote free into a FULL slab either finds the
 * queue empty (then that pusher sets the class bit after its push) or
 * non-empty (then an earlier pusher set it after an earlier push and no
 * drain happened in between, so the owner's next scan after clearing the
 * bit finds the slab's queue non-empty).  The pusher reads the owner tag
 * before its push, while its own block keeps the slab out (used > 0);
 * heaps are never unmapped, so touching the heap after the push is safe.
 * The tag can still name a former owner if the slab was published and
 * adopted between the pusher's read and its push: refill's periodic sweep
 * (every TINY_SWEEP_EVERY refills of a class) bounds how long such a block
 * waits.
 */
#include "tiny/tiny_internal.h"

#include <errno.h>

#include "os/os.h"

#define TINY_CARVE_BYTES	8192
#define TINY_CARVE_MIN		8
#define TINY_SWEEP_EVERY	64
#define TINY_IDLE_LOOK		32

/*
 * hak_tiny_scan_full - owner: full slabs that got remote frees go back to
 * the partial list, or, when every block came back and the class has
 * another slab with room, to the superslab box; fostered slabs that got
 * remote frees are drained and go back to the box once empty.
 */
void hak_tiny_scan_full(struct hak_heap *h, unsigned c)
{
	struct hak_slab *s, *next;

	for (s = h->full[c]; s; s = next) {
		next = s->next;
		if (!hak_remote_pending(s))
			continue;
		hak_tiny_drain(s);
		/* all blocks back: release it, but keep one spare per class so
		 * a producer/consumer pair does not turn slabs over per batch */
		if (s->used == 0 && h->partial[c]) {
			hak_list_del(&h->full[c], s);
			hak_tiny_slab_free(h, c, s);
			continue;
		}
		hak_tiny_unfull(h, c, s);
	}
	/* fostered slabs whose last blocks came home remotely */
	for (s = h->foster[c]; s; s = next) {
		next = s->next;
		hak_tiny_foster_settle(h, c, s);
	}
}

/*
 * hak_tiny_collect_hinted - owner: act on the remote hints of the other
 * classes, so that memory freed by other threads comes back while this
 * thread allocates at all, not only when it allocates that class again.
 */
void hak_tiny_collect_hinted(struct hak_heap *h, uint64_t skip)
{
	/* acquire: pairs with the pushers' release fetch_or */
	uint64_t hint = atomic_fetch_and_explicit(&h->remote_hint, skip,
						  memory_order_acquire) & ~skip;

	while (hint) {
		unsigned k = (unsigned)__builtin_ctzll(hint);

		hint &= hint - 1;
		hak_tiny_scan_full(h, k);
	}
}

/*
 * release_idle - owner, about to map memory for class @c: give the other
 * classes' wholly free partial slabs back to the superslab box, so that a
 * program that moves from one size to another reuses its memory instead
 * of keeping every class's high-water mark (local frees take the fast
 * path, so a slab that empties there is only found here, at thread exit
 * or in malloc_trim).  Each class keeps one partial slab as its spare.
 * Looks at no more than TINY_IDLE_LOOK slabs that stay, round robin over
 * the classes, so a heap with many partly used slabs pays a bounded
 * amount per new slab.
 */
static void release_idle(struct hak_heap *h, unsigned c)
{
	unsigned look = TINY_IDLE_LOOK, k = h->idle_cursor % TINY_NCLASS;

	for (unsigned n = 0; n < TINY_NCLASS && look; n++, k = (k + 1) % TINY_NCLASS) {
		struct hak_slab *s, *next;

		if (k == c)
			continue;
		for (s = h->partial[k]; s && look; s = next) {
			next = s->next;
			if (s->used == 0 && (s != h->partial[k] || next)) {
				part_del(h, k, s);
				hak_tiny_slab_free(h, k, s);
			} else {
				look--;
			}
		}
	}
	h->idle_cursor = (uint8_t)k;
}

/*
 * carve - owner: put the next batch of never-used blocks on the free list;
 * false when every block has been carved.  A carve writes each block's
 * first two words, so it makes resident every page where one of its blocks
 * starts.  A slab's first carve stops at the end of its first page (at
 * least one block): a program that allocates a few blocks of a class
 * keeps one page of it, not 8 KiB or 8 blocks (for a 128 KiB class, 8
 * pages).  Later carves take TINY_CARVE_BYTES, at least TINY_CARVE_MIN
 * blocks.
 */
static bool carve(struct hak_slab *s)
{
	char *end = hak_tiny_blocks_end(s, hak_ss_slab_start(s));
	size_t left, n;
	char *b;

	if (s->bump >= end)
		return false;
	left = (size_t)(end - s->bump) / s->stride;
	if (!s->carved) {
		/* the blocks that start in bump's page (slab starts are
		 * page-aligned) */
		n = (HAK_PAGE_SIZE - 1) / s->stride + 1;
	} else {
		n = TINY_CARVE_BYTES / s->stride;
		if (n < TINY_CARVE_MIN)
			n = TINY_CARVE_MIN;
	}
	if (n > left)
		n = left;
	b = s->bump;
	for (size_t i = 0; i + 1 < n; i++, b += s->stride)
		hak_ss_link_push(s, b, b + s->stride);
	hak_ss_link_push(s, b, s->free);
	s->free = s->bump;
	s->bump = b + s->stride;
	s->carved += n;
	return true;
}

/* has_free - owner: @s has a free block, after a drain or a carve if need be
 * (the pending peek saves the call when nothing was freed remotely) */
static bool has_free(struct hak_slab *s)
{
	return s->free ||
	       (hak_remote_pending(s) && (hak_tiny_drain(s), s->free)) ||
	       carve(s);
}

/* use - owner: @s (on no list) becomes class @c's current slab if it has
 * a free block (true), else it is parked on the full list */
static bool use(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	if (!has_free(s)) {
		hak_tiny_park_full(h, c, s);
		return false;
	}
	HAK_ASSERT_SLOW(hak_tiny_slab_valid(s));
	hak_tiny_set_cur(h, c, s);
	hak_trace(HAK_EV_REFILL, c, s, 0);
	return true;
}

/* refill - owner: make cur[c] a slab with a free block and pop one. */
static void *refill(struct hak_heap *h, unsigned c)
{
	struct hak_slab *s = h->cur[c];
	uint64_t bit = 1ULL << c;

	stat_add(h, c, TS_REFILL, 1);
	if (s != &hak_tiny_empty_slab) {
		if (has_free(s))
			return pop(s);
		/* exhausted: park it on the full list */
		hak_tiny_park_full(h, c, s);
		hak_tiny_set_cur(h, c, &hak_tiny_empty_slab);
	}
	/*
	 * relaxed read first: the fetch_and is the acquire that matters.
	 * Every TINY_SWEEP_EVERY refills of a class we look anyway: a pusher
	 * that read the owner just before a publish/adopt hinted the old one.
	 */
	if ((hak_load_relaxed(&h->remote_hint) & bit) ||
	    ++h->refills[c] % TINY_SWEEP_EVERY == 0) {
		atomic_fetch_and_explicit(&h->remote_hint, ~bit,
					  memory_order_acquire);
		hak_tiny_scan_full(h, c);
	}
	/* now and then, the other classes' hints too */
	if ((h->refills[c] & 15) == 0 &&
	    (hak_load_relaxed(&h->remote_hint) & ~bit))
		hak_tiny_collect_hinted(h, bit);
	while ((s = h->partial[c])) {
		part_del(h, c, s);
		if (use(h, c, s))
			return pop(s);
	}
	/* slabs we adopted by freeing into them: ours to allocate from now */
	while ((s = h->foster[c])) {
		hak_list_del(&h->foster[c], s);
		if (use(h, c, s)) {
			tag_set(s, h, tag_flags(s) & ~HAK_TAG_FOSTER);
			return pop(s);
		}
	}
	/* adopt a published slab before mapping anything new */
	while ((s = hak_mbox_take(c, (uintptr_t)h))) {
		stat_add(h, c, TS_ADOPT, 1);
		hak_trace(HAK_EV_ADOPT, c, s, 0);
		if (use(h, c, s))
			return pop(s);
	}
	release_idle(h, c);
	s = hak_tiny_slab_new(h, c);
	if (!s)
		return NULL;
	carve(s);
	hak_tiny_set_cur(h, c, s);
	hak_trace(HAK_EV_REFILL, c, s, 0);
	return pop(s);
}

/* slow_alloc - a malloc in slow mode: counted (HAKMEM_STATS; @h NULL:
 * counted by the caller), shown to the heap profiler (HAKMEM_PROFILE); out
 * of line, behind the one slow_mode test, so alloc_slow() stays small */
static HAK_SLOW void slow_alloc(struct hak_heap *h, unsigned cls, void *b)
{
	if (hak_tiny_counting && h)	/* the global heap counts under its lock */
		stat_add(h, cls, TS_ALLOC, 1);
	hak_prof_alloc(b, hak_tiny_class_size[cls]);
}

/* alloc_global - a thread after its teardown: the global heap */
static HAK_SLOW void *alloc_global(unsigned cls)
{
	void *b;

	hak_tiny_global_lock();
	b = refill(hak_tiny_global_heap_get(), cls);
	if (hak_tiny_counting && b)
		stat_add(&hak_tiny_global_heap, cls, TS_ALLOC, 1);
	hak_tiny_global_unlock();
	if (hak_tiny_slow_mode && b)	/* not under the lock: it unwinds */
		slow_alloc(NULL, cls, b);
	return b;
}

static void *alloc_slow(unsigned cls)
{
	struct hak_heap *h = hak_tiny_heap;
	void *b;

	if (h->state == HEAP_EMPTY) {
		h = hak_tiny_attach();
		if (!h)
			goto global;
		h = me();
	} else if (h->state == HEAP_SHADOW) {
		h = h->real;
	} else if (h->state == HEAP_DEAD) {
		goto global;
	}
	b = h->cur[cls]->free ? pop(h->cur[cls]) : refill(h, cls);
	if (hak_tiny_slow_mode && b)
		slow_alloc(h, cls, b);
	hak_trace(HAK_EV_ALLOC, cls, b, hak_tiny_class_size[cls]);
	return b;
global:
	return alloc_global(cls);
}

void *hak_tiny_alloc_slow(unsigned cls)
{
	void *b = alloc_slow(cls);

	if (hak_unlikely(!b))
		errno = ENOMEM;
	/* the heap is whole again.  Only malloc starts the purger, never
	 * free: glibc frees a cached thread stack's TLS under the lock that
	 * pthread_create takes (pthread_join -> __nptl_free_stacks ->
	 * _dl_deallocate_tls -> free), so a start from free deadlocked there
	 * with every signal blocked; nothing in glibc mallocs under it */
	hak_ss_purger_poll();
	return b;
}

void *hak_tiny_alloc_slow_small(size_t idx)
{
	return hak_tiny_alloc_slow(hak_tiny_small_class[idx]);
}
