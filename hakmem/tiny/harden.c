// SPDX-License-Identifier: MIT
/*
 * tiny/harden.c - the slow paths of the release checks (HAK_RELEASE_CHECKS,
 * on by default): what happens when a fast path's one-branch check fails.
 * The checks themselves are inline in tiny.h and superslab.h:
 *
 *   malloc: the list head lies within 2 MiB after its slab (hak_ss_near),
 *           else it came from a corrupt link: hak_tiny_bad_head()
 *   free:   the pointer starts a carved block (hak_ss_block_ok) and does
 *           not carry the free mark (hak_ss_marked), else
 *           hak_tiny_free_suspect(), which reports a bad pointer at once
 *           and confirms a double free by walking the slab's lists
 *   remote free: the same, hak_tiny_remote_suspect() confirms from the
 *           block's own link (a non-owner may not walk the owner's list)
 *
 * Every report is one line naming the call, the pointer and the check,
 * then abort (failfast: the fail-fast report and a trap).
 */
#include "tiny/tiny_internal.h"

#include "remote/remote.h"

static HAK_NORETURN void report(const char *what, const char *call,
				const struct hak_slab *s, const void *p)
{
	if (HAK_FAILFAST)
		hak_failfast(what, s->cls, s, p);
	hak_fatal("hakmem: %s(): %s: %p (size class %u, slab %p)", call, what,
		  p, (unsigned)s->cls, (const void *)s);
}

void hak_tiny_bad_head(struct hak_slab *s, void *b)
{
	report("corrupted free list (a write after free or an overflow into a "
	       "freed block changed a link)", "malloc", s, b);
}

/* linked - the decoded link @next of a free block of @s is plausible:
 * the end of a list, or a block of @s */
static bool linked(const struct hak_slab *s, const void *next)
{
	return !next || hak_ss_block_of(s, next);
}

/* on_chain - @p is on the chain from @q; the walk stops at the first link
 * that is not plausible and after as many steps as the slab has blocks */
static bool on_chain(const struct hak_slab *s, const void *q, const void *p)
{
	for (uint32_t i = 0; q && i <= s->capacity; i++) {
		if (q == p)
			return true;
		if (!linked(s, q))
			return false;
		q = hak_ss_link_next(s, q);
	}
	return false;
}

void hak_tiny_free_suspect(struct hak_slab *s, void *p)
{
	if (!HAK_RELEASE_CHECKS)	/* the head check of the fast build */
		hak_tiny_double_free(s, p);
	if (!hak_ss_block_ok(s, p))
		report("invalid pointer (not the start of a block: interior, "
		       "misaligned or chunk metadata address)", "free", s, p);
	/* the mark matched: a double free if the block is on the free list
	 * or waits in the remote queue (the owner alone takes from it, so
	 * the chain below the head we read does not change) */
	if (s->free == p)
		hak_tiny_double_free(s, p);
	if (on_chain(s, s->free, p) ||
	    on_chain(s, (void *)hak_load_acquire(&s->remote), p)) {
		if (HAK_FAILFAST)
			hak_failfast("double free: block already on its slab's "
				     "free list", s->cls, s, p);
		hak_tiny_double_free(s, p);
	}
	/* the block's own bytes happen to hold the mark: not free */
}

void hak_tiny_free_checked(struct hak_slab *s, void *p)
{
	hak_tiny_free_suspect(s, p);
	if (HAK_FAILFAST)
		hak_tiny_ff_free(s, p);
	hak_ss_link_push(s, p, s->free);
	s->free = p;
	s->used--;
}

void hak_tiny_remote_suspect(struct hak_slab *s, void *p)
{
	if (linked(s, hak_ss_link_next(s, p)))
		report(HAK_FAILFAST ? "remote node pushed twice (double free "
		       "by a thread that does not own the block)" :
		       "double free (the block is already free; freed again by "
		       "a thread that does not own it)", "free", s, p);
}

void hak_tiny_check_live(void *p, unsigned shift, const char *call)
{
	struct hak_slab *s = hak_ss_slab_of((uintptr_t)p, shift);

	if (!HAK_RELEASE_CHECKS)
		return;
	/* relaxed: the ALIGNED flag is set before the block it concerns is
	 * handed out; see hak_tiny_usable() */
	if (!(hak_load_relaxed(&s->owner_tag) & HAK_TAG_ALIGNED) &&
	    !hak_ss_block_in_cap(s, p))
		report("invalid pointer (not the start of a block)", call, s, p);
	if (hak_ss_marked(p) && linked(s, hak_ss_link_next(s, p)))
		report("pointer to a freed block (use after free)", call, s, p);
}
