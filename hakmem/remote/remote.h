/* SPDX-License-Identifier: MIT */
/*
 * remote/remote.h - cross-thread free: the per-slab MPSC remote queue.
 * May depend on superslab/ and registry/ only.
 *
 * Protocol (docs/DESIGN.md invariants 4 and 6):
 * - The queue is the slab's `remote` word: the head of a LIFO chain linked
 *   through each block's first word, encoded and marked free like the
 *   owner's list (superslab.h: hak_ss_link_push).  It touches nothing else.
 * - push (any thread that does not own the slab): write the block's link,
 *   then CAS the head in (release).  A pushed block still counts in the
 *   slab's `used`, so the slab stays out (cannot be released) until the
 *   owner drains it: the pusher may rely on the slab's metadata being valid
 *   before its CAS, never after it.
 * - take (the owner only): one exchange of the head with 0 (acquire).  Every
 *   CAS is a release RMW on the same word, so the exchange synchronises with
 *   all earlier pushes (one release sequence) and the links are visible.
 * - The owner hands taken blocks to the front end through a function the
 *   front end supplies (hak_remote_drain), so this box never knows the front
 *   end's list layout.
 */
#ifndef HAK_REMOTE_H
#define HAK_REMOTE_H

#include "hak_internal.h"
#include "hak_track.h"
#include "superslab/superslab.h"

/*
 * hak_remote_push - put @blk (a block base of @s) on @s's queue.
 * Returns true when the queue was empty before, i.e. this push is the one
 * that makes work appear for the owner.
 */
HAK_FAST bool hak_remote_push(struct hak_slab *s, void *blk)
{
	/* relaxed first read: the CAS below re-validates it */
	uintptr_t old = hak_load_relaxed(&s->remote);

	do {
		hak_ss_link_push(s, blk, (void *)old);
	} while (!atomic_compare_exchange_weak_explicit(&s->remote, &old,
			(uintptr_t)blk, memory_order_release,
			memory_order_relaxed));
	return old == 0;
}

/* hak_remote_reset - an empty queue, before the slab is reachable by any
 * pusher (the front end initialising a slab it acquired) */
HAK_FAST void hak_remote_reset(struct hak_slab *s)
{
	/* relaxed: nobody else can reach the slab yet */
	hak_store_relaxed(&s->remote, 0);
}

/* hak_remote_pending - any block waiting?  A hint: may be stale at once. */
HAK_FAST bool hak_remote_pending(struct hak_slab *s)
{
	/* relaxed: a hint only; hak_remote_take() does the acquire */
	return hak_load_relaxed(&s->remote) != 0;
}

/* hak_remote_take - owner only: detach the whole chain (NULL if empty). */
HAK_FAST void *hak_remote_take(struct hak_slab *s)
{
	if (!hak_remote_pending(s))
		return NULL;
	/* acquire: see every pusher's link write (one release sequence) */
	return (void *)atomic_exchange_explicit(&s->remote, 0,
						memory_order_acquire);
}

/* hak_remote_bad - a drained node that is no block of @s, or a chain
 * longer than the slab (a cycle: a block pushed twice); remote/mailbox.c */
HAK_NORETURN HAK_SLOW void hak_remote_bad(struct hak_slab *s, void *node,
					  unsigned n);

/*
 * hak_remote_drain - owner only: take the chain and hand each block to
 * @sink(ctx, blk).  Returns the number of blocks.  Inline, so a constant
 * @sink is inlined too.  With HAK_RELEASE_CHECKS every node is checked to
 * be a block of @s before it is read (a link corrupted while the block
 * waited decodes to anything) and the chain may not hold more nodes than
 * the slab has blocks.
 */
HAK_FAST unsigned hak_remote_drain(struct hak_slab *s,
				   void (*sink)(void *ctx, void *blk),
				   void *ctx)
{
	uintptr_t node = (uintptr_t)hak_remote_take(s);
	unsigned n = 0;

	while (node) {
		if (HAK_RELEASE_CHECKS &&
		    hak_unlikely(!hak_ss_block_of(s, (void *)node) ||
				 n >= s->capacity))
			hak_remote_bad(s, (void *)node, n);
		uintptr_t next = (uintptr_t)hak_ss_link_next(s, (void *)node);

		sink(ctx, (void *)node);
		node = next;
		n++;
	}
	return n;
}

/*
 * The mailbox (docs/DESIGN.md invariant 5): per size class, the slabs that have no
 * owner.  A slab gets there when its owner publishes it (thread exit, or a
 * heap giving slabs up); it leaves when a thread adopts it.
 *
 * - A published slab's owner_tag is HAK_TAG_PUBLISHED plus whatever flag
 *   bits of the front end it carried (never an owner).  Only a holder of the
 *   mailbox lock changes a published slab's tag.
 * - publish (owner): the owner hands over everything, its owner-only fields
 *   included; the mailbox lock orders those writes before any adopter's
 *   reads.  The slab's next/prev links belong to the mailbox meanwhile.
 * - adopt (any thread, one order in one place): take the slab off the list
 *   and CAS its tag from published to the new owner under the lock; the
 *   caller then drains the remote queue and binds the slab to its heap.
 *   hak_mbox_adopt() claims a given slab (a free into a published slab
 *   adopts it); hak_mbox_take() claims any slab of a class.
 * - Remote pushes may go on at any time; they never touch the tag.
 */
/* HAK_TAG_PUBLISHED and HAK_TAG_OWNER_MASK: the slab word, superslab.h */

/* remote/mailbox.c */
void hak_mbox_publish(unsigned cls, struct hak_slab *s);

/*
 * A batch: slabs one owner publishes together, under one acquisition of
 * the mailbox lock (a thread's exit hands over one or more slabs per class
 * it used; one lock each made the mailbox lock the most contended one when
 * threads come and go).  Until it is flushed a slab in the batch is still
 * its owner's and unpublished.
 */
#define HAK_MBOX_BATCH	32

struct hak_mbox_batch {
	unsigned n;
	uint8_t cls[HAK_MBOX_BATCH];
	struct hak_slab *slab[HAK_MBOX_BATCH];
};

/* hak_mbox_batch_flush - publish every slab of @bt; @bt is empty after */
void hak_mbox_batch_flush(struct hak_mbox_batch *bt);

/* hak_mbox_batch_add - publish @s (class @cls) with @bt's next flush; a
 * full batch is flushed first */
static inline void hak_mbox_batch_add(struct hak_mbox_batch *bt,
				      unsigned cls, struct hak_slab *s)
{
	if (bt->n == HAK_MBOX_BATCH)
		hak_mbox_batch_flush(bt);
	bt->cls[bt->n] = (uint8_t)cls;
	bt->slab[bt->n++] = s;
}

/* hak_mbox_take - adopt any published slab of @cls for @owner, or NULL */
struct hak_slab *hak_mbox_take(unsigned cls, uintptr_t owner);
/* hak_mbox_adopt - adopt @s if it is still published; false if not */
bool hak_mbox_adopt(unsigned cls, struct hak_slab *s, uintptr_t owner);
size_t hak_mbox_count(void);
void hak_mbox_fork_prepare(void);
void hak_mbox_fork_parent(void);
void hak_mbox_fork_child(void);

#endif /* HAK_REMOTE_H */
