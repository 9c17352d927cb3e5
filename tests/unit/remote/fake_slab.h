/* SPDX-License-Identifier: MIT */
/*
 * unit/remote/fake_slab.h - a slab for the remote box's tests, which stand
 * in for the front end: acquired from the superslab box (geometry only)
 * and initialised as tiny/slab.c initialises a slab.
 */
#ifndef HAK_TEST_FAKE_SLAB_H
#define HAK_TEST_FAKE_SLAB_H

#include "remote/remote.h"
#include "superslab/superslab.h"

static inline struct hak_slab *fake_slab(unsigned shift, uint32_t stride)
{
	struct hak_slab *s = hak_ss_acquire(shift);

	if (!s)
		return NULL;
	s->free = NULL;
	s->used = 0;
	s->stride = stride;
	s->capacity = (uint32_t)(hak_ss_slab_usable(s) / stride);
	s->bump = hak_ss_slab_start(s);
	hak_ss_block_init(s, stride);
	s->cls = 0;
	s->next = s->prev = NULL;
	hak_remote_reset(s);
	atomic_store_explicit(&s->owner_tag, 0, memory_order_relaxed);
	return s;
}

/* fake_release - hand an empty slab back as tiny does: no owner first */
static inline void fake_release(struct hak_slab *s)
{
	atomic_store_explicit(&s->owner_tag, 0, memory_order_relaxed);
	hak_ss_release(s);
}

#endif /* HAK_TEST_FAKE_SLAB_H */
