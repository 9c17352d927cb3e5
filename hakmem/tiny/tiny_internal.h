/* SPDX-License-Identifier: MIT */
/*
 * tiny/tiny_internal.h - what tiny's files share and nobody else sees
 * (included only inside hakmem/tiny/ and tests/unit/tiny/).  Prototypes are
 * grouped by the file that defines them.
 *
 *   heap.c    the heap pool, attach and detach, collect and publish at
 *             thread exit, trim, statistics, fork
 *   slab.c    one slab: initialise, release, drain, settle a fostered
 *             slab, validate (the list moves are inline below)
 *   refill.c  the allocation slow path: carve, scan hinted slabs,
 *             partial, foster, adopt, release idle slabs, map a new slab
 *   free.c    every free the fast path does not take: remote pushes,
 *             frees into flagged or published slabs, bad pointers
 *   aligned.c over-aligned blocks and usable sizes
 *   class.c   the size-class tables
 *
 * Who touches what:
 * - A heap's lists and its slabs' owner-only fields: the heap's thread
 *   (or, for the global heap serving threads after their teardown, whoever
 *   holds hak_tiny_global_lock()).
 * - remote_hint: any thread (fetch_or, release), the owner clears it
 *   (exchange or fetch_and, acquire) before it scans its full slabs.
 * - The heap pool: heap.c's pool_lock.
 */
#ifndef HAK_TINY_INTERNAL_H
#define HAK_TINY_INTERNAL_H

#include <pthread.h>

#include "debug/hooks.h"
#include "remote/remote.h"
#include "tiny/tiny.h"

enum { HEAP_EMPTY, HEAP_LIVE, HEAP_POOLED, HEAP_DEAD, HEAP_GLOBAL, HEAP_SHADOW };

/* tiny/heap.c */
/* the sentinel slab: never has a free block, never matches an owner tag */
extern struct hak_slab hak_tiny_empty_slab;
/* a thread's heap after its teardown: it allocates from the global heap */
extern struct hak_heap hak_tiny_dead_heap;
/* serves threads after their teardown, under hak_tiny_global_lock();
 * its lists and slabs only through hak_tiny_global_heap_get() (its
 * counters directly) */
extern struct hak_heap hak_tiny_global_heap HAK_HIDDEN;	/* HAK_LBSS */
void hak_tiny_global_lock(void);
/* hak_tiny_global_heap_get - the global heap, set up on first use; under
 * hak_tiny_global_lock() */
struct hak_heap *hak_tiny_global_heap_get(void);
void hak_tiny_global_unlock(void);
extern bool hak_tiny_counting;		/* HAKMEM_STATS: set once at init */
extern bool hak_tiny_slow_mode;		/* counting or tracing: shadow heaps */
/* hak_tiny_attach - give this thread a heap (NULL when out of memory) */
struct hak_heap *hak_tiny_attach(void);

/* tiny/slab.c */
/* hak_tiny_slab_new - a fresh slab of class @c owned by @h, not on a list */
struct hak_slab *hak_tiny_slab_new(struct hak_heap *h, unsigned c);
/* hak_tiny_slab_free - hand an empty slab back to the superslab box */
void hak_tiny_slab_free(struct hak_heap *h, unsigned c, struct hak_slab *s);
unsigned hak_tiny_drain(struct hak_slab *s);
bool hak_tiny_foster_settle(struct hak_heap *h, unsigned c,
			    struct hak_slab *s);
/* hak_tiny_slab_valid - the invariants of struct hak_slab, an O(n) walk of
 * the free list (HAK_ASSERT_SLOW) */
bool hak_tiny_slab_valid(const struct hak_slab *s);

/* tiny/refill.c */
void hak_tiny_scan_full(struct hak_heap *h, unsigned c);
void hak_tiny_collect_hinted(struct hak_heap *h, uint64_t skip);

/* stat_add - count @n events @k of class @c into @h */
static inline void stat_add(struct hak_heap *h, unsigned c,
			    enum hak_tiny_stat k, uint64_t n)
{
	/*
	 * relaxed load and store, no locked RMW: a heap's counters are
	 * written by its owner (the global heap's under its lock).  Threads
	 * after their teardown count into the global heap without the lock
	 * and may lose an increment: statistics, not accounting.
	 */
	if (hak_unlikely(h->state != HEAP_LIVE && h->state != HEAP_GLOBAL))
		h = &hak_tiny_global_heap;
	hak_store_relaxed(&h->stat[c][k], hak_load_relaxed(&h->stat[c][k]) + n);
}

/* me - the heap whose slabs this thread owns (through a stats shadow) */
static inline struct hak_heap *me(void)
{
	struct hak_heap *h = hak_tiny_heap;

	return h->state == HEAP_SHADOW ? h->real : h;
}

static inline uintptr_t tag_flags(const struct hak_slab *s)
{
	/* relaxed: owner-only read of a word only the owner writes */
	return hak_load_relaxed(&s->owner_tag) & HAK_TAG_FLAGS;
}

static inline void tag_set(struct hak_slab *s, struct hak_heap *h,
			   uintptr_t flags)
{
	/* release: a remote freer loads the tag with acquire and then writes
	 * to the heap it names (remote_hint); this orders the heap's
	 * initialisation before that write even when the freer's block came
	 * from a former owner.  A plain store on x86; slow paths only. */
	hak_store_release(&s->owner_tag, (uintptr_t)h | flags);
}

/*
 * The partial list is a FIFO: slabs join at the tail (a free into a full
 * slab, a drain that found blocks) and refill takes the head, the slab that
 * has had the longest to collect frees since it was last found empty.
 */
static inline void part_add(struct hak_heap *h, unsigned c,
			    struct hak_slab *s)
{
	hak_list_append(&h->partial[c], &h->partial_tail[c], s);
}

static inline void part_del(struct hak_heap *h, unsigned c,
			    struct hak_slab *s)
{
	hak_list_del_fifo(&h->partial[c], &h->partial_tail[c], s);
}

/*
 * hak_tiny_set_cur - owner: make @s class @c's current slab, in cur[] and,
 * for the small classes, in every direct[] slot whose sizes map to @c.
 */
static inline void hak_tiny_set_cur(struct hak_heap *h, unsigned c,
				    struct hak_slab *s)
{
	unsigned i, hi;

	h->cur[c] = s;
	hi = hak_tiny_class_size[c] / TINY_ALIGN;
	if (hi >= TINY_NDIRECT)
		return;
	i = c ? hak_tiny_class_size[c - 1] / TINY_ALIGN + 1 : 0;
	for (; i <= hi; i++) {
		HAK_ASSERT(hak_tiny_small_class[i] == c);
		h->direct[i] = s;
	}
}

/* hak_tiny_park_full - owner: @s (on no list) has no free block left: it
 * waits on the full list for remote frees */
static inline void hak_tiny_park_full(struct hak_heap *h, unsigned c,
				      struct hak_slab *s)
{
	tag_set(s, h, (tag_flags(s) & ~HAK_TAG_FOSTER) | HAK_TAG_FULL);
	hak_list_push(&h->full[c], s);
}

/* hak_tiny_unfull - owner: full slab @s has blocks again: to the partial
 * list's tail */
static inline void hak_tiny_unfull(struct hak_heap *h, unsigned c,
				   struct hak_slab *s)
{
	hak_list_del(&h->full[c], s);
	tag_set(s, h, tag_flags(s) & ~HAK_TAG_FULL);
	part_add(h, c, s);
}

/* pop - owner: pop the head of @s's free list (there is one); a head that
 * a corrupt link put outside the chunk is reported (hak_ss_near) */
static inline void *pop(struct hak_slab *s)
{
	void *b = s->free;

	if (hak_unlikely(!hak_ss_near(s, b)))
		hak_tiny_bad_head(s, b);
	return hak_tiny_pop(s, b, s->cls);
}

/* block_base - the block that contains @p (over-aligned pointers) */
static inline char *block_base(const struct hak_slab *s, const void *p)
{
	char *start = hak_ss_slab_start(s);
	size_t off = (size_t)((const char *)p - start);

	return start + off - off % s->stride;
}

#endif /* HAK_TINY_INTERNAL_H */
