/* SPDX-License-Identifier: MIT */
/*
 * tiny/tiny.h - size classes, per-thread heaps, and the malloc/free fast
 * paths for every slab-backed size (16 B .. TINY_MAX).  May depend on os/,
 * registry/, superslab/ and remote/.
 *
 * One source of truth: TINY_CLASS_SIZE(c) is the only definition of a
 * class's size (= stride: blocks carry no header, the block base is the user
 * pointer except for over-aligned blocks).  The lookup table and the span
 * of a class's slabs are derived from it.
 *
 * Ownership: a heap belongs to one thread at a time (hak_tiny_heap, an
 * initial-exec TLS pointer).  A slab's owner_tag names its heap; only that
 * heap's thread pops its free list, drains its remote queue or changes its
 * counts.  Heaps are never unmapped: an exiting thread's heap goes to a pool
 * and the next new thread adopts it whole, slabs and all, so a remote pusher
 * may touch the owner heap named by a tag it read at any later time.
 */
#ifndef HAK_TINY_H
#define HAK_TINY_H

#include "hak_internal.h"
#include "hak_track.h"
#include "debug/hooks.h"
#include "superslab/superslab.h"

struct hak_trace_ring;

#define TINY_NCLASS		48
#define TINY_SMALL_MAX		1024	/* table lookup up to here */
#define TINY_MAX		131072	/* largest slab class */
#define TINY_ALIGN		16
#define TINY_NDIRECT		(TINY_SMALL_MAX / TINY_ALIGN + 1)

/*
 * Classes: 16..128 step 16, then four per power of two up to 128 KiB:
 * 160 192 224 256 | 320 384 448 512 | ... | 81920 98304 114688 131072.
 */
#define TINY_CLASS_SIZE(c)						\
	((c) < 8 ? 16u * ((unsigned)(c) + 1) :				\
	 (128u << TINY_CLASS_EXP(c)) +					\
	 (32u << TINY_CLASS_EXP(c)) * (((unsigned)(c) - 8) % 4 + 1))
/* the power of two above 128 of class c >= 8; clamped at 0 for c < 8 so
 * that the unused branch never shifts by a negative count */
#define TINY_CLASS_EXP(c)	((((c) < 8 ? 8 : (c)) - 8) / 4)

/*
 * The inverse, in one formula: the class of n > 128 from s = n - 1 and
 * b = floor(log2(s)): four classes per power of two, picked by the two
 * bits below the top one.  hak_tiny_class_big() evaluates it at run time,
 * TINY_CLASS_OF() at compile time (class.c's tables); class.c asserts at
 * compile time that it inverts TINY_CLASS_SIZE() at every class boundary.
 */
#define TINY_CLASS_ABOVE(s, b)	(8 + ((b) - 7) * 4 + (unsigned)(((s) >> ((b) - 2)) & 3))
/* TINY_CLASS_OF - class of @n <= TINY_MAX (0 for 0), a constant expression.
 * The big branch works on TINY_ABOVE_(n) == n - 1 (n > 128), clamped to
 * 128 otherwise: clang checks shift counts of constants in unused branches */
#define TINY_LOG2_(x)		(63u - (unsigned)__builtin_clzl((unsigned long)(x)))
#define TINY_ABOVE_(n)		((n) > 128 ? (n) - 1 : 128)
#define TINY_CLASS_OF(n)						\
	((n) <= 128 ? ((n) ? ((unsigned)(n) - 1) / 16 : 0) :		\
	 TINY_CLASS_ABOVE((size_t)TINY_ABOVE_(n), TINY_LOG2_(TINY_ABOVE_(n))))

/* classes the direct[] table serves: TINY_SMALL_MAX is a class boundary,
 * so a direct slot never spans two classes */
#define TINY_NSMALL		(TINY_CLASS_OF(TINY_SMALL_MAX) + 1)

/* the limits, next to the definitions they bound */
HAK_BUILD_BUG_ON(TINY_CLASS_SIZE(TINY_NCLASS - 1) != TINY_MAX);
HAK_BUILD_BUG_ON(TINY_CLASS_OF(TINY_MAX) != TINY_NCLASS - 1);
HAK_BUILD_BUG_ON(TINY_CLASS_SIZE(TINY_NSMALL - 1) != TINY_SMALL_MAX);
HAK_BUILD_BUG_ON(TINY_SMALL_MAX % TINY_ALIGN || TINY_MAX % TINY_ALIGN);
HAK_BUILD_BUG_ON(TINY_CLASS_SIZE(0) != TINY_ALIGN);
/* the largest class still gets 8 blocks from the shortest slab (slab 0 of
 * a chunk of the largest span) */
HAK_BUILD_BUG_ON((SS_SIZE - SS_HDR) / TINY_MAX < 8);

/* per-class event counters (relaxed atomics, slow paths only) */
enum hak_tiny_stat {
	TS_ALLOC,		/* blocks handed out (counted with HAKMEM_STATS=1) */
	TS_FREE,		/* blocks given back (counted with HAKMEM_STATS=1) */
	TS_REMOTE,		/* frees pushed onto another heap's slab (HAKMEM_STATS=1) */
	TS_DRAINED,		/* remote-freed blocks taken back by an owner */
	TS_REFILL,		/* fast-path misses that refilled */
	TS_ADOPT,		/* slabs adopted from the mailbox */
	TS_PUBLISH,		/* slabs published to the mailbox */
	TS_SLAB_NEW,		/* slabs acquired from the superslab box */
	TS_SLAB_FREE,		/* empty slabs released to it */
	TS_NSTAT
};

/*
 * struct hak_heap - a thread's slabs.  Owner thread only, except
 * remote_hint (any thread, atomic).
 *   direct[i]:  cur[] of the class of sizes (i - 1) * 16 + 1 .. i * 16, for
 *               sizes <= TINY_SMALL_MAX: malloc's fast path indexes it by
 *               size with no class lookup (set_cur() keeps it equal to cur)
 *   cur[c]:     the slab the fast path pops from; never NULL (an empty
 *               static sentinel slab stands in)
 *   partial[c]: other owned slabs with free blocks (doubly linked FIFO,
 *               partial_tail[c] its tail)
 *   full[c]:    owned slabs with no free block left when last looked at
 *               (TINY_TAG_FULL set); remote frees may be waiting in them
 *   foster[c]:  published slabs this heap adopted because it freed into
 *               them (TINY_TAG_FOSTER set): frees into them take the slow
 *               path, which hands a slab back to the superslab box the
 *               moment its last block comes home; refill allocates from
 *               them (clearing the flag) before it adopts or maps
 */
struct hak_heap {
	struct hak_slab *direct[TINY_NDIRECT];
	struct hak_slab *cur[TINY_NCLASS];
	struct hak_slab *partial[TINY_NCLASS];
	struct hak_slab *partial_tail[TINY_NCLASS];
	struct hak_slab *full[TINY_NCLASS];
	struct hak_slab *foster[TINY_NCLASS];
	_Atomic uint64_t remote_hint;	/* bit c: a full slab got remote frees */
	uint8_t refills[TINY_NCLASS];	/* refills per class, for the sweep */
	uint8_t idle_cursor;		/* release_idle()'s next class */
	struct hak_heap *pool_next;	/* heap pool; pool lock */
	struct hak_heap *all_next;	/* every heap ever made; immutable */
	/* HAKMEM_STATS=1: the thread's TLS points at @shadow, a heap with no
	 * slabs, so every malloc and free takes the slow path and is counted
	 * there; the shadow's @real is the heap that owns the slabs */
	struct hak_heap *shadow, *real;
	struct hak_trace_ring *trace;	/* HAKMEM_TRACE_RING: this heap's ring */
	uint32_t state;
	uint32_t id;
	/* last: the only field past a heap's first 4 KiB (each class's
	 * counters, refills and new slabs at least, are written) */
	_Atomic uint64_t stat[TINY_NCLASS][TS_NSTAT];
} __attribute__((aligned(HAK_TAG_OWNER_ALIGN)));
/* a heap's address is a slab's owner tag: the flag bits stay clear */
HAK_BUILD_BUG_ON(_Alignof(struct hak_heap) % HAK_TAG_OWNER_ALIGN);
/* a class is a bit of remote_hint, a mailbox entry and a uint8_t cls */
HAK_BUILD_BUG_ON(TINY_NCLASS > HAK_SLAB_NCLASS_MAX);

/* tiny/class.c */
extern const uint8_t hak_tiny_small_class[TINY_SMALL_MAX / TINY_ALIGN + 1];
extern const uint32_t hak_tiny_class_size[TINY_NCLASS];
unsigned hak_tiny_class_shift(unsigned cls);

/*
 * @shift below is a slab shift: hak_ss_kind_shift() of the registry kind
 * of a SuperSlab (superslab.h).
 */

/* tiny/heap.c */
extern __thread struct hak_heap *hak_tiny_heap HAK_TLS_IE;
size_t hak_tiny_trim(void);
/* hak_tiny_init - with @count or @trace every op takes the slow path */
int hak_tiny_init(bool count, bool trace);
/* hak_tiny_stats_sum - add every heap's counters into @out; false if the
 * fast paths were not counted (HAKMEM_STATS off) */
bool hak_tiny_stats_sum(uint64_t out[TINY_NCLASS][TS_NSTAT]);
size_t hak_tiny_heaps(void);

/* tiny/usage.c: hak_tiny_slab_usage - add slab @s's bytes in live blocks
 * (remote-freed ones count until drained) and free blocks into @arg, a
 * struct hak_tiny_usage; for hak_ss_usage()'s walk */
struct hak_tiny_usage {
	size_t live;
	size_t free;
};
void hak_tiny_slab_usage(const struct hak_slab *s, void *arg);
void hak_tiny_fork_prepare(void);
void hak_tiny_fork_parent(void);
void hak_tiny_fork_child(void);

/* tiny/refill.c */
void *hak_tiny_alloc_slow(unsigned cls);
void *hak_tiny_alloc_slow_small(size_t idx);

/* tiny/free.c */
void hak_tiny_free_slow(struct hak_slab *s, void *p);
HAK_NORETURN void hak_tiny_double_free(struct hak_slab *s, void *p);
/* hak_tiny_valid - p is the start (or aligned interior) of a live-slab block */
bool hak_tiny_valid(const void *p, unsigned shift);

/* tiny/aligned.c */
void *hak_tiny_alloc_aligned(size_t size, size_t align);
size_t hak_tiny_usable(const void *p, unsigned shift);

/* hak_tiny_class_big - class for n > TINY_SMALL_MAX (n <= TINY_MAX). */
HAK_FAST unsigned hak_tiny_class_big(size_t n)
{
	size_t s = n - 1;
	unsigned b = 63 - (unsigned)__builtin_clzl(s);

	return TINY_CLASS_ABOVE(s, b);
}

HAK_FAST unsigned hak_tiny_class(size_t n)
{
	if (hak_likely(n <= TINY_SMALL_MAX))
		return hak_tiny_small_class[(n + TINY_ALIGN - 1) / TINY_ALIGN];
	return hak_tiny_class_big(n);
}

/* hak_tiny_blocks_end - the end of @s's blocks, which begin at @start */
HAK_FAST char *hak_tiny_blocks_end(const struct hak_slab *s, const char *start)
{
	return (char *)start + (size_t)s->capacity * s->stride;
}

/* hak_tiny_in_blocks - @p lies in @s's blocks, which begin at @start */
HAK_FAST bool hak_tiny_in_blocks(const struct hak_slab *s, const char *start,
				 const void *p)
{
	return (const char *)p >= start &&
	       (const char *)p < hak_tiny_blocks_end(s, start);
}

/* hak_tiny_in_slab - @p lies in @s's block area (fail-fast checks) */
HAK_FAST bool hak_tiny_in_slab(const struct hak_slab *s, const void *p)
{
	return hak_tiny_in_blocks(s, hak_ss_slab_start(s), p);
}

/* hak_tiny_on_boundary - @p is in @s and a block start */
HAK_FAST bool hak_tiny_on_boundary(const struct hak_slab *s, const void *p)
{
	return hak_tiny_in_slab(s, p) &&
	       ((const char *)p - hak_ss_slab_start(s)) % s->stride == 0;
}

/* hak_tiny_ff_free - fail-fast checks of a local free (HAK_FAILFAST) */
void hak_tiny_ff_free(struct hak_slab *s, void *p);

/* tiny/harden.c: the release checks' slow paths (HAK_RELEASE_CHECKS) */
/* hak_tiny_bad_head - @s's list head @b failed hak_ss_near(): corrupt */
HAK_NORETURN HAK_SLOW void hak_tiny_bad_head(struct hak_slab *s, void *b);
/* hak_tiny_free_suspect - an owner's free of @p into @s that is no carved
 * block start (reported) or carries the free mark (a double free if @p is
 * on one of @s's lists: reported; else a false alarm: returns) */
HAK_SLOW void hak_tiny_free_suspect(struct hak_slab *s, void *p);
/* hak_tiny_free_checked - hak_tiny_free_local()'s slow path: the same
 * checks, then the free */
HAK_SLOW void hak_tiny_free_checked(struct hak_slab *s, void *p);
/* hak_tiny_remote_suspect - a non-owner's free of marked block @p: a
 * double free if its link decodes into the slab (reported), else returns */
HAK_SLOW void hak_tiny_remote_suspect(struct hak_slab *s, void *p);
/* hak_tiny_check_live - @call (realloc, malloc_usable_size) of @p, which
 * hak_tiny_valid() accepted (it lies in a block): report it unless it
 * starts a live block (or lies in a slab of over-aligned blocks) */
void hak_tiny_check_live(void *p, unsigned shift, const char *call);

/*
 * hak_tiny_free_local - the owner puts block base @p back on @s's free
 * list: the one local-free body (fast path and slow frees alike).  Release
 * checks: @p must start a carved block (interior, misaligned and metadata
 * addresses are reported) and must not carry the free mark (a double free
 * wherever the block sits in the lists); either failure takes the slow
 * path, which reports or, for a live block whose bytes happen to hold the
 * mark, frees.
 */
HAK_FAST void hak_tiny_free_local(struct hak_slab *s, void *p)
{
	if (HAK_RELEASE_CHECKS &&
	    hak_unlikely(!hak_ss_block_ok(s, p) || hak_ss_marked(p))) {
		hak_tiny_free_checked(s, p);	/* a tail call: no frame */
		return;
	}
	if (HAK_FAILFAST)
		hak_tiny_ff_free(s, p);
	hak_ss_link_push(s, p, s->free);
	s->free = p;
	s->used--;
}

/* hak_tiny_pop - pop @b, the head of @s's free list (fast paths and
 * refill alike) */
HAK_FAST void *hak_tiny_pop(struct hak_slab *s, void *b, unsigned c)
{
	s->free = hak_ss_link_next(s, b);
	hak_ss_unmark(b);
	HAK_FF_CHECK(hak_tiny_on_boundary(s, b), "free-list block outside its "
		     "slab or off a block boundary", c, s, b);
	HAK_FF_CHECK(!s->free || hak_tiny_on_boundary(s, s->free),
		     "free-list next pointer outside its slab", c, s, s->free);
	HAK_FF_CHECK(s->used < s->capacity, "used count above capacity", c, s,
		     b);
	s->used++;
	return b;
}

/*
 * hak_tiny_alloc_class - pop the thread's current slab for class @c.  No
 * lock, no atomic, no call but the tail call of the refill, which sets
 * errno when it fails.  An empty list and a head that a corrupt link put
 * outside the chunk take the same branch (hak_ss_near); the slow path
 * tells them apart.
 */
HAK_FAST void *hak_tiny_alloc_class(unsigned c)
{
	struct hak_slab *s = hak_tiny_heap->cur[c];
	void *b = s->free;

	if (hak_unlikely(!hak_ss_near(s, b)))
		return hak_tiny_alloc_slow(c);
	return hak_tiny_pop(s, b, c);
}

/*
 * hak_tiny_alloc_small - THE malloc fast path, @n <= TINY_SMALL_MAX: the
 * current slab straight from the size (no class lookup), pop its head.
 */
HAK_FAST void *hak_tiny_alloc_small(size_t n)
{
	size_t i = (n + TINY_ALIGN - 1) / TINY_ALIGN;
	struct hak_slab *s = hak_tiny_heap->direct[i];
	void *b = s->free;

	if (HAK_RELEASE_CHECKS) {
		/* the head as an offset from the slab: the check is then one
		 * compare, and the block is addressed through s + off */
		uintptr_t off = (uintptr_t)b - (uintptr_t)s;

		if (hak_unlikely(off >= SS_SIZE))
			return hak_tiny_alloc_slow_small(i);
		__asm__("" : "+r"(off));	/* keep it an offset */
		return hak_tiny_pop(s, (char *)s + off, s->cls);
	}
	if (hak_unlikely(!b))
		return hak_tiny_alloc_slow_small(i);
	return hak_tiny_pop(s, b, s->cls);
}

/* hak_tiny_alloc - any @n <= TINY_MAX */
HAK_FAST void *hak_tiny_alloc(size_t n)
{
	return hak_tiny_alloc_class(hak_tiny_class(n));
}

/*
 * hak_tiny_free - THE free fast path for a pointer the registry placed in a
 * SuperSlab with slab shift @shift: the owner pushes onto the slab's list.
 * Anything else (remote, flagged slab, bad pointer) goes to the slow path.
 * Release checks: @p must start a carved block (interior, misaligned and
 * metadata addresses are reported) and must not carry the free mark (a
 * double free wherever the block sits in the lists).
 */
HAK_FAST void hak_tiny_free(void *p, unsigned shift)
{
	struct hak_slab *s = hak_ss_slab_of((uintptr_t)p, shift);

	/* relaxed: equal to our heap only if we own s, and only we change that */
	if (hak_likely(hak_load_relaxed(&s->owner_tag) ==
		       (uintptr_t)hak_tiny_heap)) {
		hak_tiny_free_local(s, p);
		return;
	}
	hak_tiny_free_slow(s, p);
}

#endif /* HAK_TINY_H */
