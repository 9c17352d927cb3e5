// SPDX-License-Identifier: MIT
/*
 * tiny/usage.c - what mallinfo2 needs from tiny's slab fields, read from
 * any thread.
 *
 * A slab's used/capacity/stride belong to its owner thread, which changes
 * them with plain stores on its fast paths (no atomics there, by design).
 * mallinfo reads them without synchronisation, through volatile loads, in
 * a function TSan does not instrument: the figures are a snapshot that may
 * be a few blocks off while other threads run, as glibc's mallinfo is when
 * other threads allocate between its arenas.  The superslab box guarantees
 * the metadata stays mapped during the walk (it holds its lock).
 */
#include "tiny/tiny.h"

__attribute__((no_sanitize("thread")))
void hak_tiny_slab_usage(const struct hak_slab *s, void *arg)
{
	struct hak_tiny_usage *u = arg;
	const volatile struct hak_slab *v = s;
	uint32_t used = v->used, cap = v->capacity, stride = v->stride;

	if (used > cap)		/* a slab caught mid-acquire */
		used = cap;
	u->live += (size_t)used * stride;
	u->free += (size_t)(cap - used) * stride;
}
