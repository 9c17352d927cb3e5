// SPDX-License-Identifier: MIT
/*
 * remote/queue.c - the remote queue's out-of-line report (remote.h holds
 * the queue itself, inline): a drained chain that is not what pushers put
 * there.
 */
#include "remote/remote.h"

void hak_remote_bad(struct hak_slab *s, void *node, unsigned n)
{
	if (n >= s->capacity)
		hak_fatal("hakmem: remote free queue of slab %p (size class %u) "
			  "holds more blocks than the slab: a block freed twice "
			  "by other threads (double free)", (void *)s,
			  (unsigned)s->cls);
	hak_fatal("hakmem: remote free queue of slab %p (size class %u): "
		  "corrupted link to %p, not a block of the slab (write after "
		  "free, or an overflow into a freed block)", (void *)s,
		  (unsigned)s->cls, node);
}
