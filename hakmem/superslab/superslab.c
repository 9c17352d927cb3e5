// SPDX-License-Identifier: MIT
/*
 * superslab/superslab.c - map, carve, recycle and retire SuperSlabs.
 *
 * Locking: one mutex (ss_lock) guards every chunk's free_mask and list
 * links, the per-shift lists of chunks with free slabs, and the cache of
 * empty chunks.  It is taken once per slab acquire/release, i.e. once per
 * slab's worth of allocations, never on the malloc/free fast path.  mmap and
 * munmap run outside the lock.
 *
 * Chunk states: PARTIAL (some slabs free, on partial[shift]), FULL (no slab
 * free, on no list), EMPTY (all free, on the empty cache of at most
 * SS_CACHE_MAX chunks, all but one spare decommitted (MADV_DONTNEED); still
 * registered so stale lookups see a valid header).  Retire = clear
 * registry, unmap.
 */
#include "superslab/superslab.h"

#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>

#include "debug/hooks.h"
#include "hak_lock.h"
#include "os/os.h"

#define SS_NSHIFT	(SS_MAX_SLAB_SHIFT - SS_MIN_SLAB_SHIFT + 1)
#define SS_CACHE_MAX	4

static pthread_mutex_t ss_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hak_chunk *partial[SS_NSHIFT];	/* ss_lock */
static struct hak_chunk *empty;			/* ss_lock */
static unsigned nempty;				/* ss_lock */
static struct hak_chunk *all_chunks;		/* ss_lock: every chunk */
static _Atomic size_t nchunks;			/* stats only: relaxed */

/*
 * The secret behind every slab's link key (superslab.h,
 * hak_ss_new_key()).  Picked under ss_lock before the first slab is handed
 * out; a thread that derives a key has acquired a slab since, through
 * ss_lock, so it reads the secret written.  Never changed (a fork child
 * keeps it).
 */
static uint64_t secret;				/* written once, ss_lock */
static bool secret_ready;			/* ss_lock */
static _Atomic uint64_t nkeys;			/* keys made: relaxed */

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* secret_init - the kernel's AT_RANDOM bytes, ASLR and the clock; ss_lock
 * held */
static void secret_init(void)
{
	const void *r = (const void *)getauxval(AT_RANDOM);
	uint64_t k = mix((uintptr_t)&secret_ready ^ (uintptr_t)&k), w[2];

#if defined(__x86_64__)
	k ^= mix(__builtin_ia32_rdtsc());
#endif
	if (r) {
		memcpy(w, r, sizeof(w));	/* 16 bytes, not 8-aligned */
		k ^= mix(w[0] ^ mix(w[1]));
	}
	secret = k;
	secret_ready = true;
}

uint64_t hak_ss_new_key(const void *salt)
{
	/* relaxed: the count only makes two keys of one slab differ */
	uint64_t n = atomic_fetch_add_explicit(&nkeys, 1,
					       memory_order_relaxed);

	return mix(secret ^ mix((uintptr_t)salt ^ (n << 32) ^ n)) | 1;
}

static uint32_t all_mask(const struct hak_chunk *c)
{
	return c->nslabs == 32 ? 0xffffffffu : (1u << c->nslabs) - 1;
}

/* every mapped chunk, for mallinfo's walk: its own links (all_next,
 * all_prev), since next/prev belong to the state lists; ss_lock */
static void all_add(struct hak_chunk *c)
{
	c->all_prev = NULL;
	c->all_next = all_chunks;
	if (all_chunks)
		all_chunks->all_prev = c;
	all_chunks = c;
}

static void all_del(struct hak_chunk *c)
{
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		all_chunks = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
}

/* format - (re)write a chunk's geometry for @shift; ss_lock or exclusive. */
static void format(struct hak_chunk *c, unsigned shift)
{
	c->magic = SS_MAGIC;
	c->shift = (uint8_t)shift;
	c->nslabs = (uint8_t)(SS_SIZE >> shift);
	c->free_mask = all_mask(c);
	hak_reg_set((uintptr_t)c, (uint8_t)shift);
}

static struct hak_chunk *map_chunk(void)
{
	struct hak_chunk *c = hak_os_map_aligned(SS_SIZE, SS_SIZE, 0);

	if (!c)
		return NULL;
	if (((uintptr_t)c >> SS_SHIFT) >= HAK_REG_ENTRIES) {
		hak_os_unmap(c, SS_SIZE);
		return NULL;
	}
	atomic_fetch_add_explicit(&nchunks, 1, memory_order_relaxed);
	hak_trace(HAK_EV_MAP, 0, c, SS_SIZE);
	return c;
}

static void unmap_chunk(struct hak_chunk *c)
{
	hak_trace(HAK_EV_UNMAP, 0, c, SS_SIZE);
	hak_reg_clear((uintptr_t)c);
	c->magic = 0;
	hak_os_unmap(c, SS_SIZE);
	atomic_fetch_sub_explicit(&nchunks, 1, memory_order_relaxed);
}

/* take_slab - claim the lowest free slab of @c; ss_lock held. */
static struct hak_slab *take_slab(struct hak_chunk *c)
{
	unsigned i = (unsigned)__builtin_ctz(c->free_mask);

	c->free_mask &= ~(1u << i);
	if (!c->free_mask)
		hak_list_del(&partial[c->shift - SS_MIN_SLAB_SHIFT], c);
	return &c->slabs[i];
}

struct hak_slab *hak_ss_acquire(unsigned shift)
{
	struct hak_chunk *c, *fresh = NULL;
	struct hak_slab *s;
	unsigned k = shift - SS_MIN_SLAB_SHIFT;

	HAK_ASSERT(shift >= SS_MIN_SLAB_SHIFT && shift <= SS_MAX_SLAB_SHIFT);
	hak_lock(&ss_lock);
	if (!secret_ready)
		secret_init();
	c = partial[k];
	if (!c && empty) {
		c = empty;
		hak_list_del(&empty, c);
		nempty--;
		format(c, shift);
		hak_list_push(&partial[k], c);
	}
	if (!c) {
		hak_unlock(&ss_lock);
		fresh = map_chunk();
		if (!fresh)
			return NULL;
		hak_lock(&ss_lock);
		format(fresh, shift);
		all_add(fresh);
		hak_list_push(&partial[k], fresh);
		c = fresh;
	}
	s = take_slab(c);
	hak_unlock(&ss_lock);
	/* geometry only: the caller initialises the slab's fields */
	return s;
}

void hak_ss_release(struct hak_slab *s)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s), *retire = NULL;
	unsigned i = hak_ss_slab_index(s);
	uint32_t was;

	/* the caller's stores to the slab happen before ours (ss_lock) and
	 * so before the slab's reuse */
	hak_lock(&ss_lock);
	was = c->free_mask;
	HAK_CHECK(!(was & (1u << i)),
		  "hakmem: slab %p released twice (chunk %p)", (void *)s,
		  (void *)c);
	c->free_mask = was | (1u << i);
	if (!was)
		hak_list_push(&partial[c->shift - SS_MIN_SLAB_SHIFT], c);
	if (c->free_mask == all_mask(c)) {
		hak_list_del(&partial[c->shift - SS_MIN_SLAB_SHIFT], c);
		if (nempty < SS_CACHE_MAX) {
			/* keep the mapping; past the first spare give the pages
			 * back, under the lock since once cached it may be reused */
			if (nempty)
				hak_os_decommit((char *)c + SS_HDR,
						SS_SIZE - SS_HDR);
			hak_list_push(&empty, c);
			nempty++;
		} else {
			all_del(c);
			retire = c;
		}
	}
	hak_unlock(&ss_lock);
	if (retire)
		unmap_chunk(retire);
}

size_t hak_ss_trim(void)
{
	struct hak_chunk *list, *c;
	size_t bytes = 0;

	hak_lock(&ss_lock);
	list = empty;
	empty = NULL;
	nempty = 0;
	for (c = list; c; c = c->next)
		all_del(c);
	hak_unlock(&ss_lock);
	while ((c = list)) {
		list = c->next;
		unmap_chunk(c);
		bytes += SS_SIZE;
	}
	return bytes;
}

size_t hak_ss_chunks(void)
{
	return hak_load_relaxed(&nchunks);
}

void hak_ss_usage(struct hak_ss_usage *u,
		  void (*fn)(const struct hak_slab *s, void *arg), void *arg)
{
	memset(u, 0, sizeof(*u));
	hak_lock(&ss_lock);
	for (struct hak_chunk *c = all_chunks; c; c = c->all_next) {
		u->chunks++;
		if (c->free_mask == all_mask(c)) {
			u->empty_chunks++;
			u->free_bytes += SS_SIZE;
			continue;
		}
		for (unsigned i = 0; i < c->nslabs; i++) {
			struct hak_slab *s = &c->slabs[i];

			if (c->free_mask & (1u << i)) {
				u->slabs_free++;
				u->free_bytes += hak_ss_slab_usable(s);
			} else {
				u->slabs_out++;
				fn(s, arg);
			}
		}
	}
	hak_unlock(&ss_lock);
}

void hak_ss_fork_prepare(void)
{
	pthread_mutex_lock(&ss_lock);
}

void hak_ss_fork_parent(void)
{
	pthread_mutex_unlock(&ss_lock);
}

void hak_ss_fork_child(void)
{
	pthread_mutex_init(&ss_lock, NULL);
}
