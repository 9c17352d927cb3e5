/* SPDX-License-Identifier: MIT */
/*
 * superslab/superslab.h - 2 MiB chunks carved into slabs.  May depend on
 * os/ and registry/ only.
 *
 * A SuperSlab ("chunk") is 2 MiB, 2 MiB-aligned, registered in the registry
 * with its slab shift as kind.  Its first SS_HDR bytes hold struct
 * hak_chunk (magic, geometry, slab metadata).  Every slab of a chunk spans
 * 1 << shift bytes (16 <= shift <= 21); slab 0 is shorter by the header, so
 * capacity is always computed from hak_ss_slab_usable().
 *
 *   p -> chunk:  p & ~(SS_SIZE - 1)
 *   p -> slab:   &chunk->slabs[(p & (SS_SIZE - 1)) >> shift]
 *
 * The superslab box hands out geometry only (where a slab's blocks start,
 * how many bytes they span) and writes no field of struct hak_slab: the
 * front end that acquires a slab initialises and owns its fields (tiny/
 * slab.c), the remote box owns `remote`.  A slab is out from
 * hak_ss_acquire() until hak_ss_release(); the chunk is never unmapped or
 * re-classed while any of its slabs is out (docs/DESIGN.md invariant 8).
 */
#ifndef HAK_SUPERSLAB_H
#define HAK_SUPERSLAB_H

#include "hak_internal.h"
#include "hak_track.h"
#include "registry/registry.h"

#define SS_SHIFT		HAK_REG_SHIFT
#define SS_SIZE			(1UL << SS_SHIFT)
#define SS_HDR			4096UL	/* struct hak_chunk: 32 x 128 B */
#define SS_MIN_SLAB_SHIFT	16
#define SS_MAX_SLAB_SHIFT	SS_SHIFT
#define SS_MAX_SLABS		(1U << (SS_SHIFT - SS_MIN_SLAB_SHIFT))
#define SS_MAGIC		0x53534b414d48ULL /* "HMAKSS" */

/*
 * struct hak_slab - one slab's metadata, two cache lines: the first holds
 * what the owner's malloc and free touch (and the tag remote freers read),
 * the second the list links and the remote queue other threads CAS.
 *
 * Invariants (owner's view, between calls):
 *   used == blocks handed out of this slab's lists, not yet back on @free
 *           (remote-freed blocks still count until drained)
 *   used + len(free) + (capacity - carved) == capacity
 *   carved = (bump - start) / stride = @carved
 *   a block p is a carved block start iff hak_ss_block_ok(s, p)
 */
struct hak_slab {
	/* first line: what the owner's malloc and free read and write, and
	 * what a remote freer reads before its push */
	void *free;			/* owner-local free list of block bases */
	uint32_t used;			/* see invariants above */
	uint32_t capacity;		/* blocks that fit: usable / stride */
	/* any thread, atomic */
	_Atomic uintptr_t owner_tag;	/* owner | HAK_TAG_* flags; 0 = none */
	/* block check and link keys (hak_ss_block_init): read by anyone
	 * holding a block of the slab */
	uint64_t mul;			/* hak_ss_block_mul(stride) */
	char *start;			/* first block: hak_ss_slab_start() */
	uint64_t carved;		/* blocks carved so far (64 bits: one
					 * compare with hak_ss_block_q) */
	uint64_t key, unkey;		/* the links' key and its inverse */
	/* second line: the list links and the queue other threads CAS */
	/* hak_list links of whoever holds the slab: its owner heap's lists
	 * (tiny, owner only) or, while published, the mailbox (remote/, under
	 * its lock); the publish/adopt hand-over passes them on */
	struct hak_slab *next, *prev;
	_Atomic uintptr_t remote;	/* remote/: MPSC queue head */
	char *bump;			/* first never-carved block (owner) */
	uint32_t stride;		/* block size in bytes */
	uint8_t cls;			/* size class */
	uint8_t pad_[27];
};
HAK_BUILD_BUG_ON(sizeof(struct hak_slab) != 128);

/*
 * The slab word, owner_tag: the owner's address (a tiny heap) in the bits
 * of HAK_TAG_OWNER_MASK, flags in the low bits.  Every bit is defined here
 * and nowhere else; the box named beside a flag is the one that sets it.
 */
#define HAK_TAG_FULL		1UL	/* tiny: on its heap's full list */
#define HAK_TAG_ALIGNED		2UL	/* tiny: hands out interior pointers */
#define HAK_TAG_PUBLISHED	4UL	/* remote/: in the mailbox, no owner */
#define HAK_TAG_FOSTER		8UL	/* tiny: adopted by a free (foster list) */
#define HAK_TAG_FLAGS		63UL	/* every flag bit, used or not */
#define HAK_TAG_OWNER_MASK	(~(uintptr_t)HAK_TAG_FLAGS)
/* an owner's alignment: its address leaves the flag bits clear */
#define HAK_TAG_OWNER_ALIGN	(HAK_TAG_FLAGS + 1)
/*
 * HAK_SLAB_NCLASS_MAX - bound on a front end's class count: a class is a
 * bit of a 64-bit remote hint (tiny), an entry of the mailbox's table
 * (remote/) and fits the uint8_t cls field.
 */
#define HAK_SLAB_NCLASS_MAX	64

HAK_BUILD_BUG_ON((HAK_TAG_FULL | HAK_TAG_ALIGNED | HAK_TAG_PUBLISHED |
		  HAK_TAG_FOSTER) & ~HAK_TAG_FLAGS);
HAK_BUILD_BUG_ON(HAK_TAG_FULL + HAK_TAG_ALIGNED + HAK_TAG_PUBLISHED +
		 HAK_TAG_FOSTER != (HAK_TAG_FULL | HAK_TAG_ALIGNED |
				    HAK_TAG_PUBLISHED | HAK_TAG_FOSTER));
HAK_BUILD_BUG_ON(!HAK_IS_POW2(HAK_TAG_OWNER_ALIGN));
HAK_BUILD_BUG_ON(HAK_SLAB_NCLASS_MAX > 64);
HAK_BUILD_BUG_ON(HAK_SLAB_NCLASS_MAX - 1 > UINT8_MAX);

/*
 * slabs[] first: p -> slab metadata is chunk + index * 128, no offset.
 * The chunk's own fields take the last slab's 128 bytes, so the header is
 * one page: a chunk of 64 KiB slabs (shift 16) has 31 of them, its last
 * 64 KiB never handed out nor touched (address space, no memory); every
 * other shift has 16 slabs or fewer.  Where a slab keeps its owner tag
 * the fields keep a zero word: a free into that span finds "no owner"
 * and is reported, as a free into any slab that is not out.
 */
struct hak_chunk {
	union {
		struct hak_slab slabs[SS_MAX_SLABS];
		struct {
			struct hak_slab slabs_[SS_MAX_SLABS - 1];
			uint64_t magic;		/* SS_MAGIC while mapped */
			uint8_t shift;		/* slab span shift */
			uint8_t nslabs;		/* SS_NSLABS(shift) */
			uint8_t pad_[2];
			uint32_t free_mask;	/* slabs not out; ss lock */
			uintptr_t no_owner;	/* 0: a slab's owner_tag */
			uint64_t empty_ms;	/* when it last went empty;
						 * ss lock */
			struct hak_chunk *next, *prev;	/* ss lists; ss lock */
			/* every chunk; ss lock */
			struct hak_chunk *all_next, *all_prev;
		};
	};
};
HAK_BUILD_BUG_ON(sizeof(struct hak_chunk) != SS_HDR);
HAK_BUILD_BUG_ON(offsetof(struct hak_chunk, no_owner) !=
		 (SS_MAX_SLABS - 1) * sizeof(struct hak_slab) +
		 offsetof(struct hak_slab, owner_tag));
/* SS_NSLABS - the slabs of a chunk of slab shift @shift */
#define SS_NSLABS(shift)	((SS_SIZE >> (shift)) < SS_MAX_SLABS ?	\
				 (unsigned)(SS_SIZE >> (shift)) : SS_MAX_SLABS - 1)

HAK_FAST struct hak_chunk *hak_ss_chunk_of(uintptr_t p)
{
	return (struct hak_chunk *)(p & ~(SS_SIZE - 1));
}

/*
 * A SuperSlab's registry kind is its slab shift (registry.h): hak_ss_kind()
 * tells whether a kind is a SuperSlab, hak_ss_kind_shift() turns it into
 * the shift that hak_ss_slab_of() and hak_ss_block_area_of() take.
 */
HAK_FAST bool hak_ss_kind(uint8_t kind)
{
	return kind >= SS_MIN_SLAB_SHIFT;
}

HAK_FAST unsigned hak_ss_kind_shift(uint8_t kind)
{
	return kind;
}

/* hak_ss_slab_of - the slab holding @p, given its slab shift. */
HAK_FAST struct hak_slab *hak_ss_slab_of(uintptr_t p, unsigned shift)
{
	return &hak_ss_chunk_of(p)->slabs[(p & (SS_SIZE - 1)) >> shift];
}

HAK_FAST unsigned hak_ss_slab_index(const struct hak_slab *s)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);

	return (unsigned)(s - c->slabs);
}

/* hak_ss_slab_start - first byte of the slab's block area. */
HAK_FAST char *hak_ss_slab_start(const struct hak_slab *s)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);
	unsigned i = (unsigned)(s - c->slabs);

	return (char *)c + (i ? (uintptr_t)i << c->shift : SS_HDR);
}

/*
 * hak_ss_block_area_of - hak_ss_slab_start() of the slab holding @p, from
 * the registry's @shift alone (no chunk header load): slab i > 0 starts at
 * chunk + (i << shift), slab 0 past the chunk header.
 */
HAK_FAST char *hak_ss_block_area_of(uintptr_t p, unsigned shift)
{
	uintptr_t start = p & ~(((uintptr_t)1 << shift) - 1);

	return (char *)(start & (SS_SIZE - 1) ? start : start + SS_HDR);
}

/* hak_ss_slab_usable - bytes of the slab's block area. */
HAK_FAST size_t hak_ss_slab_usable(const struct hak_slab *s)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);
	size_t span = (size_t)1 << c->shift;

	return s == c->slabs ? span - SS_HDR : span;
}

/*
 * Free-block words (HAK_RELEASE_CHECKS).  A free block's first word links
 * it to the next free block of its list (the owner's free list or the
 * remote queue), its second word holds HAK_SS_FREE_MARK:
 *
 *   word 0 = next * s->key    (mod 2^64; NULL stays 0)
 *   word 1 = HAK_SS_FREE_MARK
 *
 * The key is odd and random per slab (hak_ss_block_init(), from a secret
 * the process picks before its first slab; a fork child keeps both).  It
 * lives in the slab's first cache line, which malloc and free touch
 * anyway, where one global key would be one more line for the cache to
 * keep (and lose to any program that works a set of the L1 hard).
 * Without it a forged link decodes to a random pointer, and any change to
 * the low bytes of a link (a short overflow) moves the decoded pointer by
 * a random multiple of the inverse key: the pop-time check (hak_ss_near)
 * then sees it leave the chunk, except with probability 2^-43.  The mark
 * is public: it only flags a block as probably free (a double free), which
 * the caller confirms before it reports; malloc clears it (hak_ss_unmark).
 */
#define HAK_SS_FREE_MARK	((uintptr_t)(intptr_t)(int32_t)0xdf5ee7edu)

/* hak_ss_link_push - make @blk, a block of @s, a free block whose
 * successor is @next */
HAK_FAST void hak_ss_link_push(const struct hak_slab *s, void *blk,
			       const void *next)
{
	if (!HAK_RELEASE_CHECKS) {
		hak_link_set(blk, next);
		return;
	}
	hak_link_set(blk, (void *)((uintptr_t)next * s->key));
	hak_link_set((char *)blk + sizeof(void *), (void *)HAK_SS_FREE_MARK);
}

/* hak_ss_link_next - free block @blk of @s: its successor, decoded, not
 * checked */
HAK_FAST void *hak_ss_link_next(const struct hak_slab *s, const void *blk)
{
	uintptr_t w = (uintptr_t)hak_link_get(blk);

	return (void *)(HAK_RELEASE_CHECKS ? w * s->unkey : w);
}

/* hak_ss_marked - @blk carries the free mark (probably a free block) */
HAK_FAST bool hak_ss_marked(const void *blk)
{
	return HAK_RELEASE_CHECKS &&
	       (uintptr_t)hak_link_get((const char *)blk + sizeof(void *)) ==
	       HAK_SS_FREE_MARK;
}

/* hak_ss_unmark - @blk leaves the free lists (malloc) */
HAK_FAST void hak_ss_unmark(void *blk)
{
	if (HAK_RELEASE_CHECKS)
		hak_link_set((char *)blk + sizeof(void *), NULL);
}

/*
 * hak_ss_near - @b, a list head about to be popped from @s, is neither
 * NULL (empty list) nor outside the 2 MiB after @s's metadata (a corrupt
 * link decoded).  One subtraction and compare on the malloc fast path.
 */
HAK_FAST bool hak_ss_near(const struct hak_slab *s, const void *b)
{
	if (!HAK_RELEASE_CHECKS)
		return b != NULL;
	return (uintptr_t)b - (uintptr_t)s < SS_SIZE;
}

/*
 * hak_ss_block_q - which block of @s @p starts, or a value >= @limit when
 * @p is not a block start below block @limit (interior, misaligned, in the
 * chunk header, past the end).  @p must lie in @s's slab span.
 *
 * stride = o << k (o odd): mul = o^-1 (mod 2^64) << (32 - k).  For
 * n = p - start, n * o^-1 is q << k exactly when n = q * stride; the
 * multiplication by 2^(32 - k) puts n's low k bits (non-zero when n is no
 * multiple of 2^k) in the low word and q in the high word, and the rotation
 * swaps the words: the result is q, or at least 2^32.  For n a multiple of
 * 2^k but not of the stride the high word is (n >> k) * o^-1 mod 2^32,
 * which for |n| < 2 MiB is never below 2^17 (tests/unit/superslab/carve.c
 * checks every n of every class).  Three arithmetic instructions, no
 * division.
 */
HAK_FAST uint64_t hak_ss_block_q(const struct hak_slab *s, const void *p)
{
	uint64_t z = ((uintptr_t)p - (uintptr_t)s->start) * s->mul;

	return (z >> 32) | (z << 32);
}

/* hak_ss_block_ok - @p starts a carved block of @s (owner only: carved) */
HAK_FAST bool hak_ss_block_ok(const struct hak_slab *s, const void *p)
{
	return hak_ss_block_q(s, p) < s->carved;
}

/* hak_ss_block_in_cap - @p starts one of @s's blocks (any thread holding
 * a block of @s: capacity does not change while the slab is out) */
HAK_FAST bool hak_ss_block_in_cap(const struct hak_slab *s, const void *p)
{
	return hak_ss_block_q(s, p) < s->capacity;
}

/* hak_ss_inverse - the inverse of odd @k modulo 2^64 */
HAK_FAST uint64_t hak_ss_inverse(uint64_t k)
{
	uint64_t inv = k;

	for (int i = 0; i < 6; i++)	/* Newton: 3 -> 96 correct bits */
		inv *= 2 - k * inv;
	return inv;
}

/* hak_ss_block_of - @p, which may point anywhere (a decoded link), lies
 * in @s's chunk and starts one of its blocks (hak_ss_block_q() is exact
 * only within 2 MiB of the slab's start, hence the chunk test first) */
HAK_FAST bool hak_ss_block_of(const struct hak_slab *s, const void *p)
{
	return !(((uintptr_t)p ^ (uintptr_t)s) >> SS_SHIFT) &&
	       hak_ss_block_in_cap(s, p);
}

/* hak_ss_block_mul - the multiplier of hak_ss_block_q() for @stride */
HAK_FAST uint64_t hak_ss_block_mul(uint32_t stride)
{
	unsigned k = (unsigned)__builtin_ctz(stride);

	return hak_ss_inverse(stride >> k) << (32 - k);
}

/* superslab/superslab.c: hak_ss_new_key - an odd key for a slab's links,
 * random (the process's secret, @salt and a count mixed); a slab acquired
 * from hak_ss_acquire() orders the secret before it */
uint64_t hak_ss_new_key(const void *salt);

/*
 * hak_ss_block_init - the fields superslab.h's checks and links read,
 * for a slab of blocks of @stride that its front end has just taken:
 * nothing carved yet, a new key.  The front end calls it with the rest of
 * its initialisation (tiny/slab.c), before it publishes the slab.
 */
HAK_FAST void hak_ss_block_init(struct hak_slab *s, uint32_t stride)
{
	s->start = hak_ss_slab_start(s);
	s->mul = hak_ss_block_mul(stride);
	s->carved = 0;
	s->key = hak_ss_new_key(s);
	s->unkey = hak_ss_inverse(s->key);
}

/* superslab/superslab.c */
/*
 * hak_ss_acquire - a slab of span 1 << @shift: its geometry is
 * hak_ss_slab_start() and hak_ss_slab_usable(); its fields are the
 * caller's to initialise.  NULL when out of memory.
 */
struct hak_slab *hak_ss_acquire(unsigned shift);
/* hak_ss_release - give an empty slab back (the caller has cleared its
 * owner_tag); its chunk may be retired. */
void hak_ss_release(struct hak_slab *s);
/* hak_ss_trim - unmap every cached empty chunk; returns bytes released. */
size_t hak_ss_trim(void);
/*
 * hak_ss_config - the empty cache's policy (docs/DESIGN.md "Giving memory
 * back"): keep at most @retain_bytes of empty chunks mapped
 * (HAKMEM_RETAIN_MB), and up to @burst_bytes more (HAKMEM_RETAIN_BURST_MB)
 * for at most @burst_ms_ (HAKMEM_RETAIN_BURST_MS) after they went empty;
 * purge a cached chunk's pages once it has been idle for the adaptive
 * window, at most @decay_max_ms (HAKMEM_DECAY_MS; 0: at once).  Called
 * once at start-up; the defaults are 8 MiB, 64 MiB, 50 ms and 1000 ms.
 * Before it runs there is no burst (the purger, which ends a burst in a
 * program gone idle, starts only once configured).
 */
void hak_ss_config(size_t retain_bytes, size_t burst_bytes, long burst_ms_,
		   long decay_max_ms);
/*
 * The purger (superslab/purger.c): one thread, started the first time a
 * burst needs ending, that sleeps until the cache has something due and
 * then does it, so that a program that stops calling still gives its
 * burst back within HAKMEM_RETAIN_BURST_MS and its idle pages within the
 * decay window.
 *   hak_ss_purge_due - purge and unmap what is due now; returns when the
 *                      next thing falls due (coarse ms), UINT64_MAX if none
 *   hak_ss_burst_off - no purger can run: unmap every burst chunk and keep
 *                      none from now on
 *   hak_ss_purger_kick - something falls due at @due_ms: wake the purger
 *                      earlier, or mark it wanted if it is not running
 *   hak_ss_purger_running - the purger runs: a burst may be kept
 *   hak_ss_purger_poll - start the purger if it is wanted: for the front
 *                      end's malloc slow path, at its end (pthread_create
 *                      allocates: the caller's heap must be whole and no
 *                      hakmem lock held; with one held it waits a poll).
 *                      Never from free: glibc frees under locks that
 *                      pthread_create takes (purger.c)
 */
uint64_t hak_ss_purge_due(void);
void hak_ss_burst_off(void);
void hak_ss_purger_kick(uint64_t due_ms);
bool hak_ss_purger_running(void);
void hak_ss_purger_start(void);
extern _Atomic bool hak_ss_purger_pending;

static inline void hak_ss_purger_poll(void)
{
	if (hak_unlikely(hak_load_relaxed(&hak_ss_purger_pending)))
		hak_ss_purger_start();
}
void hak_ss_purger_fork_prepare(void);
void hak_ss_purger_fork_parent(void);
void hak_ss_purger_fork_child(void);
/* hak_ss_retain - the empty cache now, and its counters since start-up */
struct hak_ss_retain {
	size_t dirty;		/* empty chunks with their pages */
	size_t clean;		/* empty chunks purged (mapped, not resident) */
	uint32_t decay_ms;	/* the window now */
	uint64_t hits;		/* chunks taken again while dirty */
	uint64_t misses;	/* taken again after an early purge */
	uint64_t purged;	/* purges of idle chunks */
	uint64_t unmapped;	/* chunks unmapped past the bound */
};
void hak_ss_retain_get(struct hak_ss_retain *out);
/* hak_ss_retain_try - the same without waiting: false, and @out untouched,
 * when the lock is busy (the statistics printer, which may run at exit
 * while another thread holds it) */
bool hak_ss_retain_try(struct hak_ss_retain *out);
/* hak_ss_chunks - chunks currently mapped. */
size_t hak_ss_chunks(void);
/*
 * hak_ss_usage - mallinfo's view of the SuperSlabs, under the ss lock:
 * @fn(slab, @arg) for every slab that is out (the front end reads its own
 * fields, without synchronisation: a snapshot); the counts of the rest.
 */
struct hak_ss_usage {
	size_t chunks;		/* mapped chunks */
	size_t empty_chunks;	/* of them wholly free (the empty cache) */
	size_t slabs_out;	/* slabs handed out */
	size_t slabs_free;	/* slabs not out, in chunks with some out */
	size_t free_bytes;	/* their usable bytes + the empty chunks' */
};
void hak_ss_usage(struct hak_ss_usage *u,
		  void (*fn)(const struct hak_slab *s, void *arg), void *arg);

/* fork(): take / drop the superslab lock around fork. */
void hak_ss_fork_prepare(void);
void hak_ss_fork_parent(void);
void hak_ss_fork_child(void);

#endif /* HAK_SUPERSLAB_H */
