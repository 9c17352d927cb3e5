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
#include "registry/registry.h"

#define SS_SHIFT		HAK_REG_SHIFT
#define SS_SIZE			(1UL << SS_SHIFT)
#define SS_HDR			4096UL
#define SS_MIN_SLAB_SHIFT	16
#define SS_MAX_SLAB_SHIFT	SS_SHIFT
#define SS_MAX_SLABS		(1U << (SS_SHIFT - SS_MIN_SLAB_SHIFT))
#define SS_MAGIC		0x53534b414d48ULL /* "HMAKSS" */

/*
 * struct hak_slab - one slab's metadata, one cache line.
 *
 * Invariants (owner's view, between calls):
 *   used == blocks handed out of this slab's lists, not yet back on @free
 *           (remote-freed blocks still count until drained)
 *   used + len(free) + (capacity - carved) == capacity
 *   carved = (bump - start) / stride
 */
struct hak_slab {
	/* tiny front, owner thread only; tiny/slab.c initialises them */
	void *free;			/* owner-local free list of block bases */
	uint32_t used;			/* see invariants above */
	uint32_t capacity;		/* blocks that fit: usable / stride */
	char *bump;			/* first never-carved block */
	uint32_t stride;		/* block size in bytes */
	uint8_t cls;			/* size class */
	uint8_t pad_[3];
	/* hak_list links of whoever holds the slab: its owner heap's lists
	 * (tiny, owner only) or, while published, the mailbox (remote/, under
	 * its lock); the publish/adopt hand-over passes them on */
	struct hak_slab *next, *prev;
	/* any thread, atomic */
	_Atomic uintptr_t owner_tag;	/* owner | HAK_TAG_* flags; 0 = none */
	_Atomic uintptr_t remote;	/* remote/: MPSC queue head */
};
HAK_BUILD_BUG_ON(sizeof(struct hak_slab) != 64);

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

/* slabs[] first: p -> slab metadata is chunk + index * 64, no offset */
struct hak_chunk {
	struct hak_slab slabs[SS_MAX_SLABS];
	uint64_t magic;			/* SS_MAGIC while mapped */
	uint8_t shift;			/* slab span shift */
	uint8_t nslabs;			/* SS_SIZE >> shift */
	uint8_t pad_[2];
	uint32_t free_mask;		/* slabs not out; ss lock */
	uint64_t empty_ms;		/* when it last went empty; ss lock */
	struct hak_chunk *next, *prev;	/* ss lists; ss lock */
	struct hak_chunk *all_next, *all_prev;	/* every chunk; ss lock */
};
HAK_BUILD_BUG_ON(sizeof(struct hak_chunk) > SS_HDR);

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
 * (HAKMEM_RETAIN_MB); purge a cached chunk's pages once it has been idle
 * for the adaptive window, at most @decay_max_ms (HAKMEM_DECAY_MS; 0:
 * at once).  Called once at start-up; the defaults are 8 MiB and 1000 ms.
 */
void hak_ss_config(size_t retain_bytes, long decay_max_ms);
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
