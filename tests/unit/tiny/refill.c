// SPDX-License-Identifier: MIT
/*
 * unit/tiny/refill.c - the allocation slow path of one class, white-box:
 *  1. allocating past a slab's capacity parks the exhausted slab on the
 *     full list (HAK_TAG_FULL) and makes a new one current; every block is
 *     a valid block of a slab of its class; every slab passes
 *     hak_tiny_slab_valid();
 *  2. freeing every block moves the full slabs back to the partial list
 *     (the flag cleared) and malloc_trim releases them all;
 *  3. hak_tiny_slab_valid() itself fails on a wrong count and on a free
 *     list that leaves its slab (the debug flavour's O(n) walk).
 * Calls tiny directly (no tracked-flavour redzones change the class).
 */
#include "helpers.h"
#include "tiny/tiny_internal.h"
#include "unit/tiny/tiny_test.h"

#define CLS	(TINY_NCLASS - 1)	/* 128 KiB blocks: 15 per slab */
#define NBLK	40

static size_t list_len(struct hak_slab *s, uintptr_t want, uintptr_t mask)
{
	size_t n = 0;

	for (; s; s = s->next, n++)
		CHECK((atomic_load(&s->owner_tag) & mask) == want,
		      "slab %p tag %lx on the wrong list", (void *)s,
		      (unsigned long)atomic_load(&s->owner_tag));
	return n;
}

int main(void)
{
	void *b[NBLK];
	struct hak_heap *h;
	struct hak_slab *s, *first;
	size_t nfull, slabs = 0;
	uint64_t freed0;

	for (int i = 0; i < NBLK; i++) {
		b[i] = hak_tiny_alloc(TINY_MAX);
		if (!CHECK(b[i], "alloc %d", i))
			return t_result();
		s = slab_of(b[i]);
		CHECK(s->cls == CLS && s->stride == TINY_MAX &&
		      hak_tiny_valid(b[i], hak_ss_kind_shift(
				hak_reg_kind((uintptr_t)b[i]))),
		      "block %d: class %u stride %u", i, s->cls, s->stride);
		CHECK(hak_tiny_slab_valid(s), "slab of block %d invalid", i);
		for (int j = 0; j < i; j++)
			CHECK(b[j] != b[i], "block %d handed out twice", i);
	}
	h = me();
	first = slab_of(b[0]);
	CHECK(first->capacity < NBLK, "capacity %u: no refill tested",
	      first->capacity);
	/* 1: every exhausted slab is parked on the full list, flagged */
	nfull = list_len(h->full[CLS], (uintptr_t)h | HAK_TAG_FULL, ~0UL);
	for (int i = 0; i < NBLK; i++)
		if (i == 0 || slab_of(b[i]) != slab_of(b[i - 1]))
			slabs++;
	CHECK(nfull == slabs - 1, "%zu slabs, %zu on the full list", slabs,
	      nfull);
	CHECK(h->cur[CLS] == slab_of(b[NBLK - 1]), "the last slab is not cur");

	/* 2: frees into full slabs put them back on the partial list */
	for (int i = 0; i < NBLK; i++)
		tfree(b[i]);
	CHECK(!h->full[CLS], "full list not empty after every free");
	CHECK(list_len(h->partial[CLS], (uintptr_t)h, ~0UL) == slabs - 1,
	      "partial list: want %zu slabs", slabs - 1);
	for (s = h->partial[CLS]; s; s = s->next)
		CHECK(s->used == 0 && hak_tiny_slab_valid(s), "partial slab");
	freed0 = stat_of(CLS, TS_SLAB_FREE);
	hak_tiny_trim();
	CHECK(!h->partial[CLS] && h->cur[CLS] == &hak_tiny_empty_slab,
	      "slabs left after trim");
	CHECK(stat_of(CLS, TS_SLAB_FREE) - freed0 == slabs,
	      "trim released %lu slabs of %zu",
	      (unsigned long)(stat_of(CLS, TS_SLAB_FREE) - freed0), slabs);

	/* 3: the validator catches what it is there for */
	b[0] = hak_tiny_alloc(TINY_MAX);
	b[1] = hak_tiny_alloc(TINY_MAX);
	s = slab_of(b[0]);
	tfree(b[1]);
	CHECK(hak_tiny_slab_valid(s), "fresh slab invalid");
	s->used++;
	CHECK(!hak_tiny_slab_valid(s), "a wrong used count passes");
	s->used--;
	void *link = hak_link_get(s->free);
	hak_link_set(s->free, (char *)hak_ss_slab_start(s) - 16);
	CHECK(!hak_tiny_slab_valid(s), "a free list leaving its slab passes");
	hak_link_set(s->free, link);
	CHECK(hak_tiny_slab_valid(s), "restored slab invalid");
	tfree(b[0]);
	return t_result();
}
