// SPDX-License-Identifier: MIT
/*
 * tiny/slab.c - one slab's life in a heap: initialised from the geometry
 * the superslab box hands out, carved into blocks a batch at a time,
 * refilled from its remote queue, moved between the owner's lists, handed
 * back when empty.  Owner thread only (see tiny_internal.h).
 *
 * tiny owns every field of struct hak_slab but `remote` (remote/) and the
 * links while the slab is published (the mailbox): the superslab box
 * writes none of them.
 */
#include "tiny/tiny_internal.h"

struct hak_slab *hak_tiny_slab_new(struct hak_heap *h, unsigned c)
{
	struct hak_slab *s = hak_ss_acquire(hak_tiny_class_shift(c));
	uint32_t stride = hak_tiny_class_size[c];

	if (!s)
		return NULL;
	/* the slab is ours alone now: nobody else can reach its metadata
	 * until tag_set() below publishes it (release) */
	s->free = NULL;
	s->used = 0;
	s->stride = stride;
	s->capacity = (uint32_t)(hak_ss_slab_usable(s) / stride);
	s->bump = hak_ss_slab_start(s);
	hak_ss_block_init(s, stride);
	s->cls = (uint8_t)c;
	s->next = s->prev = NULL;
	hak_remote_reset(s);
	tag_set(s, h, 0);
	stat_add(h, c, TS_SLAB_NEW, 1);
	/* tracked flavours: never-used memory is off limits to the user */
	hak_track_noaccess(hak_ss_slab_start(s), hak_ss_slab_usable(s));
	return s;
}

void hak_tiny_slab_free(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	HAK_ASSERT(s->used == 0 && !hak_remote_pending(s));
	HAK_ASSERT_SLOW(hak_tiny_slab_valid(s));
	/* relaxed: a released slab is reachable by no one until re-acquired,
	 * and the superslab lock orders these stores before its reuse */
	hak_store_relaxed(&s->owner_tag, 0);
	s->free = NULL;
	s->bump = NULL;
	s->carved = 0;
	hak_ss_release(s);
	stat_add(h, c, TS_SLAB_FREE, 1);
}

static void sink_local(void *ctx, void *blk)
{
	struct hak_slab *s = ctx;

	HAK_FF_CHECK(hak_tiny_on_boundary(s, blk), "remote node does not belong "
		     "to the slab it was pushed to", s->cls, s, blk);
	/* a node pushed twice makes a cycle: it comes round again, onto a
	 * free list that already holds it (bounded scan) */
	if (HAK_FAILFAST) {
		void *q = s->free;

		for (unsigned i = 0; q && i < 64; i++, q = hak_ss_link_next(s, q))
			HAK_FF_CHECK(q != blk, "remote node pushed twice "
				     "(double free)", s->cls, s, blk);
	}
	/* the drain checked the node lies in the slab's blocks; a pusher
	 * cannot know the carved count, the owner can */
	if (HAK_RELEASE_CHECKS && hak_unlikely(!hak_ss_block_ok(s, blk)))
		hak_tiny_bad_head(s, blk);
	hak_ss_link_push(s, blk, s->free);
	s->free = blk;
}

/* hak_tiny_drain - owner: move the remote queue to the free list */
unsigned hak_tiny_drain(struct hak_slab *s)
{
	struct hak_heap *owner = (struct hak_heap *)
		(hak_load_relaxed(&s->owner_tag) & HAK_TAG_OWNER_MASK);
	unsigned n;

	HAK_FF_CHECK(owner && (owner == me() || owner->state == HEAP_GLOBAL ||
			       hak_tiny_heap == &hak_tiny_dead_heap),
		     "drain without owning the slab", s->cls, s, NULL);
	n = hak_remote_drain(s, sink_local, s);
	HAK_FF_CHECK(n <= s->used, "drained more blocks than are out",
		     s->cls, s, NULL);
	s->used -= n;
	if (n) {
		stat_add(owner, s->cls, TS_DRAINED, n);
		hak_trace(HAK_EV_DRAIN, s->cls, s, n);
	}
	return n;
}

/*
 * hak_tiny_foster_settle - owner: take what other threads freed into
 * fostered slab @s and give it back to the superslab box the moment it is
 * empty, so that a thread that only frees (a consumer, the heir of exited
 * threads) does not hoard memory it never allocates from (docs/DESIGN.md
 * invariant 8).  True if released.
 */
bool hak_tiny_foster_settle(struct hak_heap *h, unsigned c,
			    struct hak_slab *s)
{
	if (hak_remote_pending(s))
		hak_tiny_drain(s);
	if (s->used)
		return false;
	hak_list_del(&h->foster[c], s);
	hak_tiny_slab_free(h, c, s);
	return true;
}

bool hak_tiny_slab_valid(const struct hak_slab *s)
{
	const char *start = hak_ss_slab_start(s);
	size_t carved, listed = 0;

	if (s->stride == 0 || s->capacity == 0 ||
	    s->capacity > hak_ss_slab_usable(s) / s->stride ||
	    s->bump < start || s->bump > hak_tiny_blocks_end(s, start) ||
	    (size_t)(s->bump - start) % s->stride)
		return false;
	carved = (size_t)(s->bump - start) / s->stride;
	for (void *q = s->free; q; q = hak_ss_link_next(s, q)) {
		if (!hak_tiny_on_boundary(s, q) || (char *)q >= s->bump ||
		    ++listed > carved)
			return false;
	}
	/* blocks in the remote queue still count in used */
	return s->used + listed == carved;
}
