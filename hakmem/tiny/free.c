// SPDX-License-Identifier: MIT
/*
 * tiny/free.c - every free the fast path does not take: the plain remote
 * free (push onto the slab's queue, hint the owner), the owner's frees into
 * flagged slabs (full, fostered), frees into published slabs (adopt on
 * free), over-aligned blocks, counting and tracing, and bad pointers, which
 * are named in one line before the abort.  The front end's half of the
 * remote protocol (remote/README.md): the push and the hint are here, the
 * drain in slab.c, the scans of hinted slabs in refill.c.
 */
#include "tiny/tiny_internal.h"

/*
 * hak_tiny_ff_free - the fail-fast checks of a free by the owner: the
 * chunk's magic, the block on a boundary of its slab, the count, and a
 * bounded scan for the block already on the free list.
 */
void hak_tiny_ff_free(struct hak_slab *s, void *p)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);
	uintptr_t tag = hak_load_relaxed(&s->owner_tag);
	void *q = s->free;

	HAK_FF_CHECK(c->magic == SS_MAGIC, "registry entry without a valid "
		     "SuperSlab magic", s->cls, s, p);
	HAK_FF_CHECK((tag & HAK_TAG_ALIGNED) ? hak_tiny_in_slab(s, p) :
		     hak_tiny_on_boundary(s, p), "free of a pointer that is not "
		     "a block start (interior pointer?)", s->cls, s, p);
	for (unsigned i = 0; q && i < 64; i++, q = hak_ss_link_next(s, q)) {
		HAK_FF_CHECK(q != p, "double free: block already on its "
			     "slab's free list", s->cls, s, p);
		HAK_FF_CHECK(hak_tiny_on_boundary(s, q), "free-list next "
			     "pointer outside its slab", s->cls, s, q);
	}
	HAK_FF_CHECK(s->used > 0, "used count would go negative", s->cls, s, p);
}

void hak_tiny_double_free(struct hak_slab *s, void *p)
{
	if (HAK_FAILFAST)
		hak_failfast("double free: block at the head of its slab's "
			     "free list", s->cls, s, p);
	hak_fatal("hakmem: free(): double free of %p (size class %u, slab %p)",
		  p, (unsigned)s->cls, (void *)s);
}

static HAK_NORETURN void invalid(const char *what, const void *p,
				 const struct hak_slab *s)
{
	if (HAK_FAILFAST)
		hak_failfast(what, s->cls, s, p);
	hak_fatal("hakmem: %s(): invalid pointer %p (%s, slab %p)", "free",
		  p, what, (const void *)s);
}

bool hak_tiny_valid(const void *p, unsigned shift)
{
	struct hak_slab *s = hak_ss_slab_of((uintptr_t)p, shift);

	if (!hak_load_relaxed(&s->owner_tag))
		return false;
	return hak_tiny_in_blocks(s, hak_ss_slab_start(s), p);
}

/*
 * remote_free - push block base @p onto @s's queue and, when the queue was
 * empty, hint @owner (if any) that class s->cls has a slab to scan.  A
 * block already marked free is a suspected double free, confirmed first
 * (hak_tiny_remote_suspect()).
 * Everything read from @s is read before the push: after it the owner may
 * drain and release the slab.
 */
static inline void remote_free(struct hak_slab *s, void *p,
			       struct hak_heap *owner)
{
	uint64_t bit = 1ULL << s->cls;

	/* a block marked free: a double free if its link says so */
	if (hak_unlikely(hak_ss_marked(p)))
		hak_tiny_remote_suspect(s, p);
	if (hak_remote_push(s, p) && owner)
		/* release: the owner's acquire on the hint sees our push */
		atomic_fetch_or_explicit(&owner->remote_hint, bit,
					 memory_order_release);
}

/*
 * act_on_hints - owner, in a slow free: collect the classes that remote
 * frees hinted.  A thread that has stopped allocating never refills, so
 * its frees into flagged slabs are where what others freed into its slabs
 * comes back.  Relaxed peek; the fetch_and in hak_tiny_collect_hinted()
 * is the acquire.
 */
static void act_on_hints(struct hak_heap *h)
{
	if (hak_unlikely(hak_load_relaxed(&h->remote_hint)))
		hak_tiny_collect_hinted(h, 0);
}

/*
 * free_other - every free the fast path did not take but the plain remote
 * push: the owner's frees into flagged slabs, frees into published slabs,
 * over-aligned blocks, counting and tracing, bad pointers.
 */
/* slow_free - a free in slow mode: counted (HAKMEM_STATS), shown to the
 * heap profiler (HAKMEM_PROFILE) */
static HAK_SLOW void slow_free(struct hak_heap *h, unsigned cls, void *base)
{
	if (hak_tiny_counting)
		stat_add(h, cls, TS_FREE, 1);
	hak_prof_free(base);
}

static __attribute__((noinline)) void free_other(struct hak_slab *s,
						  void *p, char *start)
{
	struct hak_heap *h = me();
	struct hak_heap *owner;
	uintptr_t tag;
	void *base = p;

retry:
	/* acquire: pairs with tag_set()'s and the mailbox's release stores,
	 * so that the heap the tag names is initialised before we touch its
	 * remote_hint.  The owner's identity and the ALIGNED bit are stable
	 * while our block is out but for a publish/adopt, which the retry
	 * below handles. */
	tag = hak_load_acquire(&s->owner_tag);
	owner = (struct hak_heap *)(tag & HAK_TAG_OWNER_MASK);
	if (hak_unlikely(!owner) && !(tag & HAK_TAG_PUBLISHED))
		invalid("block of an unused slab: double free?", p, s);
	if (hak_unlikely(!hak_tiny_in_blocks(s, start, p)))
		invalid("outside its slab's blocks", p, s);
	if (tag & HAK_TAG_ALIGNED)
		base = block_base(s, p);
	else if ((HAK_DEBUG >= 1 || HAK_RELEASE_CHECKS) &&
		 ((char *)p - start) % s->stride)
		invalid("free of a pointer that is not a block start (interior pointer?)", p, s);

	if (hak_tiny_slow_mode)
		slow_free(h, s->cls, base);
	hak_trace(HAK_EV_FREE, s->cls, p, owner == h);
	if (owner == h) {
		unsigned c = s->cls;

		hak_tiny_free_local(s, base);
		if (tag & HAK_TAG_FULL)
			hak_tiny_unfull(h, c, s);
		else if (tag & HAK_TAG_FOSTER)
			hak_tiny_foster_settle(h, c, s);
		act_on_hints(h);
		return;
	}
	/* a free into a published slab adopts it (our block pins the slab);
	 * a thread that has only freed so far gets its heap for that, or the
	 * slab would wait in the mailbox for an allocation of its class */
	if ((tag & HAK_TAG_PUBLISHED) && h->state == HEAP_EMPTY &&
	    hak_tiny_attach())
		h = me();
	if ((tag & HAK_TAG_PUBLISHED) && h->state == HEAP_LIVE) {
		unsigned c = s->cls;

		if (!hak_mbox_adopt(c, s, (uintptr_t)h)) {
			if (hak_tiny_counting)	/* counted again after the retry */
				stat_add(h, c, TS_FREE, (uint64_t)-1);
			goto retry;	/* someone else adopted it first */
		}
		stat_add(h, c, TS_ADOPT, 1);
		hak_trace(HAK_EV_ADOPT, c, s, 1);
		hak_tiny_free_local(s, base);
		tag_set(s, h, tag_flags(s) | HAK_TAG_FOSTER);
		hak_list_push(&h->foster[c], s);
		hak_tiny_foster_settle(h, c, s);
		act_on_hints(h);
		return;
	}
	/* a remote free: read everything we need before the push */
	if (hak_tiny_counting)
		stat_add(h, s->cls, TS_REMOTE, 1);
	hak_trace(HAK_EV_REMOTE_PUSH, s->cls, base, (uintptr_t)owner);
	remote_free(s, base, owner);
}

/*
 * hak_tiny_free_slow - a free whose slab's tag is not the thread's heap.
 * The common case, a plain remote free, is handled here as a leaf: check
 * the pointer lies in the slab, push, hint the owner if the queue was
 * empty.  Everything else goes to free_other().
 */
void hak_tiny_free_slow(struct hak_slab *s, void *p)
{
	/* acquire: see free_other() */
	uintptr_t tag = hak_load_acquire(&s->owner_tag);
	struct hak_heap *owner = (struct hak_heap *)(tag & HAK_TAG_OWNER_MASK);
	char *start = hak_ss_slab_start(s);

	/* no shadow heaps unless slow_mode, so the TLS heap is me() here.
	 * Release checks: a block start below capacity (the carved count is
	 * the owner's), not marked free (else confirm: a double free) */
	if (hak_unlikely(hak_tiny_slow_mode || !owner ||
			 (tag & (HAK_TAG_PUBLISHED | HAK_TAG_ALIGNED)) ||
			 owner == hak_tiny_heap ||
			 (HAK_RELEASE_CHECKS ? !hak_ss_block_in_cap(s, p) :
			  !hak_tiny_in_blocks(s, start, p) ||
			  (HAK_DEBUG >= 1 && ((char *)p - start) % s->stride)))) {
		/* no hak_ss_purger_poll() on a free: see refill.c */
		free_other(s, p, start);
		return;
	}
	remote_free(s, p, owner);
}
