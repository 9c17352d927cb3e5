// SPDX-License-Identifier: MIT
/*
 * remote/mailbox.c - per-class lists of published (ownerless) slabs.
 *
 * One mutex guards every class's list, count and the tags of the slabs on
 * them (per-class locks made fork() hold more locks at once than TSan's
 * deadlock detector can follow, for no measurable gain).  Adoption happens
 * once per slab hand-over (thread exit, or a slab given up), never on a
 * fast path, so a lock is the simple and sufficient choice; the CAS on the
 * tag is still the one step that makes a thread the owner (docs/DESIGN.md
 * invariant 4), and it cannot fail while the lock is held because nobody
 * else may change a published tag.  An exiting thread publishes its slabs
 * in batches, one acquisition each: with one per slab, threads coming and
 * going made this the most contended lock (churn: 2766 of 160 k taken
 * contended; batched: 82 of 104 k).  The lists are hak_list lists through
 * the slab's links, which are the mailbox's while the slab is published.
 */
#include "remote/remote.h"

#include <pthread.h>

#include "hak_lock.h"

/* one list per class id a front end may use (superslab.h) */
#define MBOX_NCLASS	HAK_SLAB_NCLASS_MAX

struct mbox {
	struct hak_slab *head;		/* mbox_lock */
	size_t n;			/* mbox_lock */
};

static pthread_mutex_t mbox_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mbox boxes[MBOX_NCLASS];

static void unlink_slab(struct mbox *b, struct hak_slab *s)
{
	/* hak_list stores the head relaxed: hak_mbox_take() peeks at it */
	hak_list_del(&b->head, s);
	b->n--;
}

/* push - mbox_lock held: @s, owned by the caller, goes on @cls's list */
static void push(unsigned cls, struct hak_slab *s)
{
	struct mbox *b = &boxes[cls];
	/* relaxed: the owner's own word; the lock orders it for adopters */
	uintptr_t tag = hak_load_relaxed(&s->owner_tag);

	HAK_ASSERT(cls < MBOX_NCLASS && (tag & HAK_TAG_OWNER_MASK));
	/* the slab's links are the mailbox's now (superslab.h); the head
	 * store is relaxed: hak_mbox_take() peeks at it without the lock */
	hak_list_push(&b->head, s);
	b->n++;
	/* release: a pusher that reads "published" before the lock sees a
	 * consistent slab once it takes the lock itself */
	hak_store_release(&s->owner_tag,
			  (tag & ~HAK_TAG_OWNER_MASK) | HAK_TAG_PUBLISHED);
}

void hak_mbox_publish(unsigned cls, struct hak_slab *s)
{
	hak_lock(&mbox_lock);
	push(cls, s);
	hak_unlock(&mbox_lock);
}

void hak_mbox_batch_flush(struct hak_mbox_batch *bt)
{
	if (!bt->n)
		return;
	hak_lock(&mbox_lock);
	for (unsigned i = 0; i < bt->n; i++)
		push(bt->cls[i], bt->slab[i]);
	hak_unlock(&mbox_lock);
	bt->n = 0;
}

/* claim - lock held, @s on the list: make @owner its owner */
static void claim(struct mbox *b, struct hak_slab *s, uintptr_t owner)
{
	uintptr_t tag = hak_load_relaxed(&s->owner_tag);
	uintptr_t want = (tag & ~HAK_TAG_OWNER_MASK & ~HAK_TAG_PUBLISHED) |
			 owner;

	unlink_slab(b, s);
	/* acq_rel: the adopter's reads of the slab follow its win */
	if (!atomic_compare_exchange_strong_explicit(&s->owner_tag, &tag, want,
			memory_order_acq_rel, memory_order_relaxed))
		hak_fatal("hakmem: mailbox: published slab %p changed owner "
			  "under the lock (tag %lx)", (void *)s,
			  (unsigned long)tag);
}

struct hak_slab *hak_mbox_take(unsigned cls, uintptr_t owner)
{
	struct mbox *b = &boxes[cls];
	struct hak_slab *s;

	/* racy peek to skip the lock when empty; the lock decides */
	if (!__atomic_load_n(&b->head, __ATOMIC_RELAXED))
		return NULL;
	hak_lock(&mbox_lock);
	s = b->head;
	if (s)
		claim(b, s, owner);
	hak_unlock(&mbox_lock);
	return s;
}

bool hak_mbox_adopt(unsigned cls, struct hak_slab *s, uintptr_t owner)
{
	struct mbox *b = &boxes[cls];
	bool won = false;

	hak_lock(&mbox_lock);
	if (hak_load_relaxed(&s->owner_tag) & HAK_TAG_PUBLISHED) {
		claim(b, s, owner);
		won = true;
	}
	hak_unlock(&mbox_lock);
	return won;
}

size_t hak_mbox_count(void)
{
	size_t n = 0;

	hak_lock(&mbox_lock);
	for (unsigned c = 0; c < MBOX_NCLASS; c++)
		n += boxes[c].n;
	hak_unlock(&mbox_lock);
	return n;
}

void hak_mbox_fork_prepare(void)
{
	pthread_mutex_lock(&mbox_lock);
}

void hak_mbox_fork_parent(void)
{
	pthread_mutex_unlock(&mbox_lock);
}

void hak_mbox_fork_child(void)
{
	pthread_mutex_init(&mbox_lock, NULL);
}
