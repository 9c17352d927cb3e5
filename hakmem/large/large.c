// SPDX-License-Identifier: MIT
/*
 * large/large.c - own-mapping blocks, the BigCache, mremap-based realloc.
 *
 * A live block's header belongs to the thread holding the block (like the
 * block itself); cached headers belong to cache_lock.  The registry entry of
 * a mapping is set after its header is written and cleared before unmap.
 */
#include "large/large.h"

#include <pthread.h>
#include <string.h>

#include "debug/hooks.h"
#include "hak_lock.h"
#include "os/os.h"

#define LARGE_MAGIC		0x4c4b414d48ULL	/* "HMAKL" */
#define LARGE_FREED		0x464b414d48ULL	/* "HMAKF" */
#define LARGE_OFF_MIN		64UL
#define CACHE_MAX_ENTRIES	16
#define CACHE_MAX_BYTES		(64UL << 20)

struct large_hdr {
	uint64_t magic;
	size_t map_size;		/* bytes mapped from the header on */
	size_t off;			/* user pointer - header */
	struct large_hdr *next;		/* BigCache list (cache_lock) */
	uint64_t freed_ms;		/* when it was cached (cache_lock) */
	bool purged;			/* cached with its pages given back:
					 * all but the header page read 0 */
};
HAK_BUILD_BUG_ON(sizeof(struct large_hdr) > LARGE_OFF_MIN);

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct large_hdr *cache;		/* cache_lock; newest first */
static unsigned cache_n;		/* cache_lock */
static size_t cache_bytes;		/* cache_lock */
static _Atomic size_t nlive;		/* stats only: relaxed */
static _Atomic size_t live_bytes;	/* stats only: relaxed; mapped bytes
					 * of the live blocks */
/* the BigCache's delay: set once at init; relaxed, a stale default read
 * by a thread racing with init only changes how long a block is cached */
static _Atomic long cache_ms = 1000;
/*
 * How well the cache is being reused: +1 per hit (max 8), halved per miss.
 * A block cached while the cache is cold has its pages given back first
 * (the mapping is kept: a later hit faults them in again), so a program
 * that frees a big block now and then does not keep it resident; churn
 * (hits on every malloc) keeps its pages.  Relaxed: a heuristic, written
 * under cache_lock and read before a put takes it.
 */
static _Atomic unsigned cache_hot;

void hak_large_config(long ms)
{
	hak_store_relaxed(&cache_ms, ms);
}

/*
 * cache_expire - cache_lock held: cut off the entries cached longer than
 * cache_ms (the list is newest first, so they are its tail) and return
 * them, to be unmapped after the lock is dropped.
 */
static struct large_hdr *cache_expire(void)
{
	uint64_t now = hak_os_now_ms();
	long ms = hak_load_relaxed(&cache_ms);
	struct large_hdr **pp, *old, *h;

	for (pp = &cache; *pp; pp = &(*pp)->next)
		if (now - (*pp)->freed_ms >= (uint64_t)ms)
			break;
	old = *pp;
	*pp = NULL;
	for (h = old; h; h = h->next) {
		cache_n--;
		cache_bytes -= h->map_size;
	}
	return old;
}

/* note_reuse - cache_lock held: a take found a mapping (@hit) or not */
static void note_reuse(bool hit)
{
	unsigned hot = hak_load_relaxed(&cache_hot);

	hak_store_relaxed(&cache_hot, hit ? (hot < 8 ? hot + 1 : 8) : hot / 2);
}

/* live_grew - a live block's mapping went from @minus to @plus bytes */
static void live_grew(size_t plus, size_t minus)
{
	/* relaxed: a statistic, read alone by mallinfo */
	if (plus)
		atomic_fetch_add_explicit(&live_bytes, plus,
					  memory_order_relaxed);
	if (minus)
		atomic_fetch_sub_explicit(&live_bytes, minus,
					  memory_order_relaxed);
}

static struct large_hdr *hdr_of(const void *p)
{
	uintptr_t s = ((uintptr_t)p - 1) & ~(HAK_REG_SIZE - 1);

	if (hak_reg_kind(s) != HAK_REG_LARGE)
		return NULL;
	struct large_hdr *h = (struct large_hdr *)s;
	if (s + h->off != (uintptr_t)p)
		return NULL;
	return h;
}

bool hak_large_owns(const void *p)
{
	struct large_hdr *h = hdr_of(p);

	return h && h->magic == LARGE_MAGIC;
}

static void unmap_hdr(struct large_hdr *h)
{
	hak_trace(HAK_EV_UNMAP, 0, h, h->map_size);
	hak_reg_clear((uintptr_t)h);
	hak_os_unmap(h, h->map_size);
}

static void unmap_list(struct large_hdr *h)
{
	while (h) {
		struct large_hdr *next = h->next;

		unmap_hdr(h);
		h = next;
	}
}

/*
 * cache_take - a cached mapping for @need bytes: the smallest that holds
 * @need without wasting more than 3/4 of itself, else the largest smaller
 * one grown in place with mremap (the rest of its 2 MiB region is usually
 * free), so that only the new pages fault in.
 */
static struct large_hdr *cache_take(size_t need)
{
	struct large_hdr **pp, **best = NULL, **grow = NULL, *h, *old;

	hak_lock(&cache_lock);
	old = cache_expire();
	for (pp = &cache; *pp; pp = &(*pp)->next) {
		size_t sz = (*pp)->map_size;

		if (sz >= need && sz / 4 <= need &&
		    (!best || sz < (*best)->map_size))
			best = pp;
		if (sz < need && (!grow || sz > (*grow)->map_size))
			grow = pp;
	}
	if (!best)
		best = grow;
	h = best ? *best : NULL;
	note_reuse(h != NULL);
	if (h) {
		*best = h->next;
		cache_n--;
		cache_bytes -= h->map_size;
	}
	hak_unlock(&cache_lock);
	unmap_list(old);
	if (h && h->map_size < need) {
		if (hak_os_resize(h, h->map_size, need) == 0) {
			h->map_size = need;
		} else {
			unmap_hdr(h);
			h = NULL;
		}
	}
	return h;
}

/* cache_put - keep @h for reuse, evicting the oldest; false: unmap it. */
static bool cache_put(struct large_hdr *h)
{
	struct large_hdr *evict = NULL, **pp;

	if (h->off != LARGE_OFF_MIN || h->map_size > CACHE_MAX_BYTES / 2)
		return false;
	/* before it is in the cache: nobody else can take it yet */
	h->purged = hak_load_relaxed(&cache_hot) < 2 &&
		    hak_os_decommit((char *)h + HAK_PAGE_SIZE,
				    h->map_size - HAK_PAGE_SIZE) == 0;
	hak_lock(&cache_lock);
	h->magic = LARGE_FREED;
	h->freed_ms = hak_os_now_ms();
	h->next = cache;
	cache = h;
	cache_n++;
	cache_bytes += h->map_size;
	evict = cache_expire();	/* with cache_ms 0, @h itself */
	while (cache_n > CACHE_MAX_ENTRIES || cache_bytes > CACHE_MAX_BYTES) {
		/* unlink the oldest (the tail) */
		for (pp = &cache; (*pp)->next; pp = &(*pp)->next)
			;
		struct large_hdr *old = *pp;
		*pp = NULL;
		cache_n--;
		cache_bytes -= old->map_size;
		old->next = evict;
		evict = old;
	}
	hak_unlock(&cache_lock);
	unmap_list(evict);
	return true;
}

static void *large_alloc(size_t size, size_t align, bool zero)
{
	size_t off, need;
	struct large_hdr *h;

	if (align < LARGE_OFF_MIN)
		align = LARGE_OFF_MIN;
	off = align <= HAK_REG_SIZE ? align : HAK_REG_SIZE;
	if (size > (size_t)PTRDIFF_MAX - off - 2 * HAK_REG_SIZE)
		return NULL;
	/* at least one byte: a 0-byte block at off == 2 MiB would point just
	 * past its mapping, into a region the registry may give to another
	 * chunk (the dispatch reads the kind of the pointer's own region) */
	need = HAK_ALIGN_UP(off + (size ? size : 1), HAK_PAGE_SIZE);
	if (off == LARGE_OFF_MIN && (h = cache_take(need))) {
		h->magic = LARGE_MAGIC;
		/* a purged mapping (and what mremap added to it) reads 0
		 * past its header page: no need to fault it all in */
		if (zero)
			memset((char *)h + off, 0, h->purged ?
			       HAK_PAGE_SIZE - off : h->map_size - off);
		atomic_fetch_add_explicit(&nlive, 1, memory_order_relaxed);
		live_grew(h->map_size, 0);
		return (char *)h + off;
	}
	if (align <= HAK_REG_SIZE)
		h = hak_os_map_aligned(need, HAK_REG_SIZE, 0);
	else
		h = hak_os_map_aligned(need, align, off);
	if (!h)
		return NULL;
	if (((uintptr_t)h >> HAK_REG_SHIFT) >= HAK_REG_ENTRIES) {
		hak_os_unmap(h, need);
		return NULL;
	}
	h->magic = LARGE_MAGIC;
	h->map_size = need;
	h->off = off;
	h->next = NULL;
	h->purged = false;
	hak_reg_set((uintptr_t)h, HAK_REG_LARGE);
	hak_trace(HAK_EV_MAP, 0, h, need);
	atomic_fetch_add_explicit(&nlive, 1, memory_order_relaxed);
	live_grew(need, 0);
	return (char *)h + off;
}

void *hak_large_alloc(size_t size, size_t align, bool zero)
{
	void *p = large_alloc(size, align, zero);

	hak_prof_alloc(p, size);	/* HAKMEM_PROFILE */
	return p;
}

static struct large_hdr *live_hdr(const void *p, const char *call)
{
	struct large_hdr *h = hdr_of(p);

	if (HAK_FAILFAST && (!h || h->magic != LARGE_MAGIC))
		hak_failfast(!h ? "pointer hakmem does not own (registry: no)" :
			     h->magic == LARGE_FREED ? "double free of a large "
			     "block" : "large block header corrupted", 0, h, p);
	if (!h)
		hak_fatal("hakmem: %s(): invalid pointer %p (not a hakmem block)",
			  call, p);
	if (h->magic != LARGE_MAGIC)
		hak_fatal("hakmem: %s(): %s %p (large block)", call,
			  h->magic == LARGE_FREED ? "double free of" :
			  "corrupted header at", p);
	return h;
}

static void large_free(void *p)
{
	struct large_hdr *h = live_hdr(p, "free");

	atomic_fetch_sub_explicit(&nlive, 1, memory_order_relaxed);
	live_grew(0, h->map_size);
	if (!cache_put(h))
		unmap_hdr(h);
}

void hak_large_free(void *p)
{
	hak_prof_free(p);	/* HAKMEM_PROFILE */
	large_free(p);
}

size_t hak_large_usable(const void *p)
{
	struct large_hdr *h = live_hdr(p, "malloc_usable_size");

	return h->map_size - h->off;
}

static void *large_realloc(void *p, size_t size)
{
	struct large_hdr *h = live_hdr(p, "realloc");
	size_t need, old = h->map_size;
	void *dst;

	if (size > (size_t)PTRDIFF_MAX - h->off - 2 * HAK_REG_SIZE)
		return NULL;
	need = HAK_ALIGN_UP(h->off + size, HAK_PAGE_SIZE);
	if (need <= old) {
		/* shrink in place when it frees at least half the mapping */
		if (need < old / 2 && hak_os_resize(h, old, need) == 0) {
			h->map_size = need;
			live_grew(need, old);
		}
		return p;
	}
	if (hak_os_resize(h, old, need) == 0) {
		h->map_size = need;
		live_grew(need, old);
		return p;
	}
	/* move the pages to a fresh 2 MiB-aligned range: no copy */
	dst = hak_os_map_aligned(need, HAK_REG_SIZE, 0);
	if (dst && ((uintptr_t)dst >> HAK_REG_SHIFT) < HAK_REG_ENTRIES) {
		hak_reg_clear((uintptr_t)h);
		if (hak_os_move(h, old, need, dst) == 0) {
			h = dst;
			h->map_size = need;
			live_grew(need, old);
			hak_reg_set((uintptr_t)h, HAK_REG_LARGE);
			return (char *)h + h->off;
		}
		hak_reg_set((uintptr_t)h, HAK_REG_LARGE);
	}
	if (dst)
		hak_os_unmap(dst, need);
	/* last resort: copy */
	void *q = large_alloc(size, 16, false);
	if (!q)
		return NULL;
	memcpy(q, p, old - h->off);
	large_free(p);
	return q;
}

/* hak_large_realloc - for HAKMEM_PROFILE, a free and a new block */
void *hak_large_realloc(void *p, size_t size)
{
	void *q;

	hak_prof_free(p);
	q = large_realloc(p, size);
	hak_prof_alloc(q, size);
	return q;
}

size_t hak_large_trim(void)
{
	struct large_hdr *list, *h;
	size_t bytes = 0;

	hak_lock(&cache_lock);
	list = cache;
	cache = NULL;
	cache_n = 0;
	cache_bytes = 0;
	hak_unlock(&cache_lock);
	while ((h = list)) {
		list = h->next;
		bytes += h->map_size;
		unmap_hdr(h);
	}
	return bytes;
}

void hak_large_bytes(size_t *live, size_t *cached)
{
	*live = hak_load_relaxed(&live_bytes);
	hak_lock(&cache_lock);
	*cached = cache_bytes;
	hak_unlock(&cache_lock);
}

void hak_large_counts(size_t *live, size_t *cached)
{
	*live = hak_load_relaxed(&nlive);
	hak_lock(&cache_lock);
	*cached = cache_n;
	hak_unlock(&cache_lock);
}

void hak_large_fork_prepare(void)
{
	pthread_mutex_lock(&cache_lock);
}

void hak_large_fork_parent(void)
{
	pthread_mutex_unlock(&cache_lock);
}

void hak_large_fork_child(void)
{
	pthread_mutex_init(&cache_lock, NULL);
}
