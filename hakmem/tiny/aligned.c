// SPDX-License-Identifier: MIT
/*
 * tiny/aligned.c - over-aligned blocks and usable sizes.  A class whose
 * stride is a multiple of the alignment gives aligned blocks as they are
 * (slab starts are page-aligned); otherwise a larger block is handed out
 * at an interior pointer and its slab is marked HAK_TAG_ALIGNED, which
 * sends every free into it to the slow path (block_base()).
 */
#include "tiny/tiny_internal.h"

#include "os/os.h"

void *hak_tiny_alloc_aligned(size_t size, size_t align)
{
	unsigned c;
	char *b, *p;

	if (size < TINY_ALIGN)
		size = TINY_ALIGN;
	/* class strides that are multiples of align give aligned blocks: slab
	 * starts are page-aligned */
	c = hak_tiny_class(size);
	if (align <= HAK_PAGE_SIZE && hak_tiny_class_size[c] % align == 0)
		return hak_tiny_alloc(size);
	if (size + align - TINY_ALIGN > TINY_MAX)
		return NULL;
	b = hak_tiny_alloc(size + align - TINY_ALIGN);
	if (!b)
		return NULL;
	p = (char *)HAK_ALIGN_UP((uintptr_t)b, align);
	if (p != b) {
		unsigned shift = hak_ss_kind_shift(hak_reg_kind((uintptr_t)b));
		struct hak_slab *s = hak_ss_slab_of((uintptr_t)b, shift);
		uintptr_t tag = hak_load_relaxed(&s->owner_tag);

		/* the block came from our own heap (or the global heap, under
		 * its lock... which we no longer hold: mark from any owner is
		 * still an owner-word store, so take the lock for that case) */
		if (!(tag & HAK_TAG_ALIGNED)) {
			if (hak_tiny_heap->state == HEAP_DEAD) {
				hak_tiny_global_lock();
				tag = hak_load_relaxed(&s->owner_tag);
				hak_store_relaxed(&s->owner_tag,
						  tag | HAK_TAG_ALIGNED);
				hak_tiny_global_unlock();
			} else {
				hak_store_relaxed(&s->owner_tag,
						  tag | HAK_TAG_ALIGNED);
			}
		}
	}
	return p;
}

size_t hak_tiny_usable(const void *p, unsigned shift)
{
	struct hak_slab *s = hak_ss_slab_of((uintptr_t)p, shift);
	uintptr_t tag = hak_load_relaxed(&s->owner_tag);

	if (tag & HAK_TAG_ALIGNED)
		return (size_t)(block_base(s, p) + s->stride - (const char *)p);
	return s->stride;
}
