/* SPDX-License-Identifier: MIT */
/*
 * remote/remote.h - cross-thread free: the per-slab MPSC remote queue.
 * May depend on superslab/ and registry/ only.
 *
 * Protocol (DESIGN invariants 4 and 6):
 * - The queue is the slab's `remote` word: the head of a LIFO chain linked
 *   through each block's first word.  It touches nothing else.
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
		hak_link_set(blk, (void *)old);
	} while (!atomic_compare_exchange_weak_explicit(&s->remote, &old,
			(uintptr_t)blk, memory_order_release,
			memory_order_relaxed));
	return old == 0;
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

/*
 * hak_remote_drain - owner only: take the chain and hand each block to
 * @sink(ctx, blk).  Returns the number of blocks.  Inline, so a constant
 * @sink is inlined too.
 */
HAK_FAST unsigned hak_remote_drain(struct hak_slab *s,
				   void (*sink)(void *ctx, void *blk),
				   void *ctx)
{
	uintptr_t node = (uintptr_t)hak_remote_take(s);
	unsigned n = 0;

	while (node) {
		uintptr_t next = (uintptr_t)hak_link_get((void *)node);

		sink(ctx, (void *)node);
		node = next;
		n++;
	}
	return n;
}

#endif /* HAK_REMOTE_H */
