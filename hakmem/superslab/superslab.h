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
 * Slab metadata is shared by three boxes; each section says who writes it.
 * The superslab box writes a slab's geometry when it hands the slab out and
 * nothing while it is out.  A slab is out from hak_ss_acquire() until
 * hak_ss_release(); the chunk is never unmapped or re-classed while any of
 * its slabs is out (DESIGN invariant 8).
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
	/* tiny front, owner thread only */
	void *free;			/* owner-local free list of block bases */
	uint32_t used;			/* see invariants above */
	uint32_t capacity;		/* blocks that fit (superslab sets) */
	char *bump;			/* first never-carved block */
	uint32_t stride;		/* block size in bytes (tiny sets) */
	uint8_t cls;			/* size class (tiny sets) */
	uint8_t pad_[3];
	struct hak_slab *next, *prev;	/* owner's slab lists */
	/* any thread, atomic */
	_Atomic uintptr_t owner_tag;	/* owning heap | flags; 0 = none */
	_Atomic uintptr_t remote;	/* remote/: MPSC queue head */
};
HAK_BUILD_BUG_ON(sizeof(struct hak_slab) != 64);

/* slabs[] first: p -> slab metadata is chunk + index * 64, no offset */
struct hak_chunk {
	struct hak_slab slabs[SS_MAX_SLABS];
	uint64_t magic;			/* SS_MAGIC while mapped */
	uint8_t shift;			/* slab span shift */
	uint8_t nslabs;			/* SS_SIZE >> shift */
	uint8_t pad_[2];
	uint32_t free_mask;		/* slabs not out; ss lock */
	struct hak_chunk *next, *prev;	/* ss lists; ss lock */
	struct hak_chunk *all_next, *all_prev;	/* every chunk; ss lock */
};
HAK_BUILD_BUG_ON(sizeof(struct hak_chunk) > SS_HDR);

HAK_FAST struct hak_chunk *hak_ss_chunk_of(uintptr_t p)
{
	return (struct hak_chunk *)(p & ~(SS_SIZE - 1));
}

/* hak_ss_slab_of - the slab holding @p, given the shift the registry gave. */
HAK_FAST struct hak_slab *hak_ss_slab_of(uintptr_t p, unsigned shift)
{
	return &hak_ss_chunk_of(p)->slabs[(p & (SS_SIZE - 1)) >> shift];
}

HAK_FAST unsigned hak_ss_slab_index(const struct hak_slab *s)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);

	return (unsigned)(s - c->slabs);
}

HAK_FAST unsigned hak_ss_slab_shift(const struct hak_slab *s)
{
	return hak_ss_chunk_of((uintptr_t)s)->shift;
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
 * hak_ss_acquire - a slab of span 1 << @shift, its metadata zeroed but for
 * capacity = usable / @stride and bump = start.  NULL when out of memory.
 */
struct hak_slab *hak_ss_acquire(unsigned shift, uint32_t stride);
/* hak_ss_release - give an empty slab back; its chunk may be retired. */
void hak_ss_release(struct hak_slab *s);
/* hak_ss_trim - unmap every cached empty chunk; returns bytes released. */
size_t hak_ss_trim(void);
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
