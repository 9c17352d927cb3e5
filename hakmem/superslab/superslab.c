// SPDX-License-Identifier: MIT
/*
 * superslab/superslab.c - map, carve, recycle and retire SuperSlabs.
 *
 * Locking: one mutex (ss_lock) guards every chunk's free_mask and list
 * links, the per-shift lists of chunks with free slabs, and the cache of
 * empty chunks with its policy state.  It is taken once per slab
 * acquire/release, i.e. once per slab's worth of allocations, never on the
 * malloc/free fast path.  mmap, munmap and madvise run outside the lock.
 *
 * Chunk states: PARTIAL (some slabs free, on partial[shift]), FULL (no slab
 * free, on no list), EMPTY (all free, in the empty cache: still mapped and
 * registered, so stale lookups see a valid header).  Retire = clear
 * registry, unmap.
 *
 * The empty cache and when its memory goes back (docs/DESIGN.md "Giving
 * memory back"): at most retain_max chunks (HAKMEM_RETAIN_MB), on two
 * lists, most recently emptied first.  A chunk that goes empty joins
 * `dirty` with its pages as they are, so a program that empties and refills
 * chunks reuses them without a page fault; acquire takes the newest dirty
 * chunk first.  A dirty chunk left unused for longer than the decay window
 * is purged (MADV_DONTNEED: mapped, not resident) and moves to `clean`;
 * past retain_max the oldest chunk, clean first, is unmapped.  The window
 * adapts between SS_DECAY_MIN_MS and HAKMEM_DECAY_MS: a clean chunk that is
 * taken again within the maximum proves that it was purged too early (the
 * window doubles, or grows to that chunk's idle time); every purge of an
 * idle chunk shrinks it by an eighth.  The clock (CLOCK_MONOTONIC_COARSE)
 * is read only when a chunk goes empty or leaves the cache, and on every
 * SS_DECAY_EVERY-th acquire or release while a dirty chunk waits.
 * hak_ss_trim() unmaps the whole cache.
 */
#include "superslab/superslab.h"

#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>

#include "debug/hooks.h"
#include "hak_lock.h"
#include "os/os.h"

#define SS_NSHIFT	(SS_MAX_SLAB_SHIFT - SS_MIN_SLAB_SHIFT + 1)
#define SS_DECAY_MIN_MS	4	/* a tick of the coarse clock */
#define SS_DECAY_EVERY	32	/* slab ops between two looks at the clock */

/* a list of empty chunks, newest at the head; ss_lock */
struct cq {
	struct hak_chunk *head, *tail;
	unsigned n;
};

static pthread_mutex_t ss_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hak_chunk *partial[SS_NSHIFT];	/* ss_lock */
static struct cq dirty, clean;			/* ss_lock: the empty cache */
static unsigned purging;			/* ss_lock: out being purged */
static struct hak_chunk *all_chunks;		/* ss_lock: every chunk */
static _Atomic size_t nchunks;			/* stats only: relaxed */
/* the policy (ss_lock): set by hak_ss_config(), these defaults before */
static unsigned retain_max = 4;			/* HAKMEM_RETAIN_MB / 2 */
static unsigned burst_max;			/* HAKMEM_RETAIN_BURST_MB / 2,
						 * 0 without a purger */
static uint32_t burst_ms = 50;			/* HAKMEM_RETAIN_BURST_MS */
static uint32_t decay_max = 1000;		/* HAKMEM_DECAY_MS */
static uint32_t decay_ms = 1000 / 16;		/* the adaptive window */
static unsigned ops;				/* slab ops since a look */
static struct hak_ss_retain rs;			/* counters */

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
	return (1u << c->nslabs) - 1;	/* nslabs < 32 */
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
	c->nslabs = (uint8_t)SS_NSLABS(shift);
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

/* ---- the empty cache ----------------------------------------------------- */

static void cq_push(struct cq *q, struct hak_chunk *c)
{
	hak_list_push(&q->head, c);
	if (!q->tail)
		q->tail = c;
	q->n++;
}

static void cq_del(struct cq *q, struct hak_chunk *c)
{
	hak_list_del_fifo(&q->head, &q->tail, c);
	q->n--;
}

/* cq_take_all - empty @q; its chunks, linked through next */
static struct hak_chunk *cq_take_all(struct cq *q)
{
	struct hak_chunk *list = q->head;

	q->head = q->tail = NULL;
	q->n = 0;
	return list;
}

/* cached - ss_lock: empty chunks, in the cache or out being purged */
static unsigned cached(void)
{
	return dirty.n + clean.n + purging;
}

/* oldest - ss_lock: the cached chunk that leaves first (clean ones first:
 * their pages are gone already), or NULL */
static struct hak_chunk *oldest(struct cq **q)
{
	*q = clean.tail ? &clean : &dirty;
	return (*q)->tail;
}

/*
 * burst_may - ss_lock: the process may keep a burst: not while it is
 * single-threaded (glibc's flag, set once a second thread was created and
 * never cleared), so that hakmem never makes a single-threaded program
 * multi-threaded with its purger (such a program may rely on being one:
 * unshare(CLONE_NEWUSER), a fork without atfork cost)
 */
static bool burst_may(void)
{
	return burst_max && !__libc_single_threaded;
}

/* burst - ss_lock: the burst allowed now: none until the purger runs to
 * end it if the program goes idle; it starts from a malloc (purger.c), so
 * the first would-be burst is given back and marks it wanted instead */
static unsigned burst(void)
{
	return burst_may() && hak_ss_purger_running() ? burst_max : 0;
}

/*
 * evict - ss_lock: past retain_max, the oldest cached chunks leave the
 * cache for @retire: at once past retain_max + burst_max, else once they
 * have been empty for burst_ms (the burst: a program that empties chunks
 * and refills them within that time keeps their pages).
 */
static void evict(uint64_t now, struct hak_chunk **retire)
{
	struct hak_chunk *c;
	struct cq *q;

	while (cached() > retain_max && (c = oldest(&q))) {
		if (cached() <= retain_max + burst() &&
		    now - c->empty_ms < burst_ms)
			break;
		cq_del(q, c);
		all_del(c);
		c->next = *retire;
		*retire = c;
		rs.unmapped++;
	}
}

/* decay_floor - ss_lock: the smallest window (0 with HAKMEM_DECAY_MS=0) */
static uint32_t decay_floor(void)
{
	return decay_max < SS_DECAY_MIN_MS ? decay_max : SS_DECAY_MIN_MS;
}

/*
 * decay - ss_lock: the dirty chunks idle for the window or longer (the
 * tail: oldest first) leave the cache for @purge, counted in `purging`
 * until they come back clean; each shrinks the window by an eighth.
 */
static void decay(uint64_t now, struct hak_chunk **purge)
{
	struct hak_chunk *c;

	ops = 0;
	while ((c = dirty.tail) && now - c->empty_ms >= decay_ms) {
		cq_del(&dirty, c);
		c->next = *purge;
		*purge = c;
		purging++;
		rs.purged++;
		decay_ms -= decay_ms / 8;
		if (decay_ms < decay_floor())
			decay_ms = decay_floor();
	}
}

/*
 * cache_take - ss_lock: a cached chunk for a new slab, the most recently
 * emptied dirty one first.  A clean chunk taken within decay_max of going
 * empty was purged too early: the window grows to cover that idle time.
 */
static struct hak_chunk *cache_take(void)
{
	struct hak_chunk *c = dirty.head;
	uint64_t idle;

	if (c) {
		cq_del(&dirty, c);
		rs.hits++;
		return c;
	}
	c = clean.head;
	if (!c)
		return NULL;
	cq_del(&clean, c);
	idle = hak_os_now_ms() - c->empty_ms;
	if (idle <= decay_max) {
		rs.misses++;
		decay_ms = decay_ms * 2 > idle ? decay_ms * 2 : (uint32_t)idle;
		if (decay_ms > decay_max)
			decay_ms = decay_max;
	}
	return c;
}

/*
 * settle - outside ss_lock: unmap @retire, purge @purge and give the purged
 * chunks back to the cache as clean (they kept their place in the bound
 * while out: `purging`).
 */
static void settle(struct hak_chunk *retire, struct hak_chunk *purge)
{
	struct hak_chunk *c, *next;

	for (c = retire; c; c = next) {
		next = c->next;
		unmap_chunk(c);
	}
	if (!purge)
		return;
	for (c = purge; c; c = c->next)
		hak_os_decommit((char *)c + SS_HDR, SS_SIZE - SS_HDR);
	retire = NULL;
	hak_lock(&ss_lock);
	for (c = purge; c; c = next) {
		next = c->next;
		purging--;
		cq_push(&clean, c);
	}
	evict(hak_os_now_ms(), &retire);	/* the bound meanwhile */
	hak_unlock(&ss_lock);
	settle(retire, NULL);
}

/* look - ss_lock: now and then, while dirty chunks wait, the clock */
static void look(struct hak_chunk **purge)
{
	if (dirty.n && ++ops >= SS_DECAY_EVERY)
		decay(hak_os_now_ms(), purge);
}

void hak_ss_config(size_t retain_bytes, size_t burst_bytes, long burst_ms_,
		   long decay_max_ms)
{
	struct hak_chunk *retire = NULL;

	hak_lock(&ss_lock);
	retain_max = (unsigned)(retain_bytes / SS_SIZE);
	burst_max = (unsigned)(burst_bytes / SS_SIZE);
	burst_ms = (uint32_t)burst_ms_;
	decay_max = (uint32_t)decay_max_ms;
	decay_ms = decay_max / 16 > decay_floor() ? decay_max / 16 :
		   decay_floor();
	evict(hak_os_now_ms(), &retire);
	hak_unlock(&ss_lock);
	settle(retire, NULL);
}

/* retain_copy - ss_lock: the cache and its counters into @out */
static void retain_copy(struct hak_ss_retain *out)
{
	*out = rs;
	out->dirty = dirty.n;
	out->clean = clean.n + purging;
	out->decay_ms = decay_ms;
}

void hak_ss_retain_get(struct hak_ss_retain *out)
{
	hak_lock(&ss_lock);
	retain_copy(out);
	hak_unlock(&ss_lock);
}

bool hak_ss_retain_try(struct hak_ss_retain *out)
{
	if (!hak_trylock(&ss_lock))
		return false;
	retain_copy(out);
	hak_unlock(&ss_lock);
	return true;
}

/* ---- acquire, release, trim -------------------------------------------- */

struct hak_slab *hak_ss_acquire(unsigned shift)
{
	struct hak_chunk *c, *fresh = NULL, *purge = NULL;
	struct hak_slab *s;
	unsigned k = shift - SS_MIN_SLAB_SHIFT;

	HAK_ASSERT(shift >= SS_MIN_SLAB_SHIFT && shift <= SS_MAX_SLAB_SHIFT);
	hak_lock(&ss_lock);
	if (!secret_ready)
		secret_init();
	look(&purge);
	c = partial[k];
	if (!c && (c = cache_take())) {
		format(c, shift);
		hak_list_push(&partial[k], c);
	}
	if (!c) {
		hak_unlock(&ss_lock);
		settle(NULL, purge);
		fresh = map_chunk();
		if (!fresh)
			return NULL;
		purge = NULL;
		hak_lock(&ss_lock);
		format(fresh, shift);
		all_add(fresh);
		hak_list_push(&partial[k], fresh);
		c = fresh;
	}
	s = take_slab(c);
	hak_unlock(&ss_lock);
	settle(NULL, purge);
	/* geometry only: the caller initialises the slab's fields */
	return s;
}

void hak_ss_release(struct hak_slab *s)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);
	struct hak_chunk *retire = NULL, *purge = NULL;
	unsigned i = hak_ss_slab_index(s);
	uint64_t kick = 0;
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
		/* empty: into the cache with its pages, newest first */
		hak_list_del(&partial[c->shift - SS_MIN_SLAB_SHIFT], c);
		bool over;

		c->empty_ms = hak_os_now_ms();
		cq_push(&dirty, c);
		over = cached() > retain_max;
		decay(c->empty_ms, &purge);
		evict(c->empty_ms, &retire);
		/* a burst waits: the purger unmaps it if nothing comes back;
		 * or one would but for the purger: wanted for the next */
		if (cached() > retain_max || (over && burst_may()))
			kick = c->empty_ms + burst_ms;
	} else {
		look(&purge);
	}
	hak_unlock(&ss_lock);
	settle(retire, purge);
	if (kick)
		hak_ss_purger_kick(kick);
}

/* due - ss_lock: when the cache next has something to do (a burst chunk
 * to unmap, a dirty chunk to purge), UINT64_MAX if never */
static uint64_t due(void)
{
	uint64_t t = UINT64_MAX;
	struct hak_chunk *c;
	struct cq *q;

	if (cached() > retain_max && (c = oldest(&q)))
		t = c->empty_ms + burst_ms;
	if (dirty.tail && dirty.tail->empty_ms + decay_ms < t)
		t = dirty.tail->empty_ms + decay_ms;
	return t;
}

uint64_t hak_ss_purge_due(void)
{
	struct hak_chunk *retire = NULL, *purge = NULL;
	uint64_t now = hak_os_now_ms(), next;

	hak_lock(&ss_lock);
	decay(now, &purge);
	evict(now, &retire);
	next = due();
	hak_unlock(&ss_lock);
	settle(retire, purge);
	return next;
}

void hak_ss_burst_off(void)
{
	struct hak_chunk *retire = NULL;

	hak_lock(&ss_lock);
	burst_max = 0;
	evict(hak_os_now_ms(), &retire);
	hak_unlock(&ss_lock);
	settle(retire, NULL);
}

size_t hak_ss_trim(void)
{
	struct hak_chunk *list[2], *c, *next;
	size_t bytes = 0;

	hak_lock(&ss_lock);
	list[0] = cq_take_all(&dirty);
	list[1] = cq_take_all(&clean);
	for (unsigned k = 0; k < 2; k++)
		for (c = list[k]; c; c = c->next)
			all_del(c);
	hak_unlock(&ss_lock);
	for (unsigned k = 0; k < 2; k++) {
		for (c = list[k]; c; c = next) {
			next = c->next;
			unmap_chunk(c);
			bytes += SS_SIZE;
		}
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
	hak_ss_purger_fork_prepare();
}

void hak_ss_fork_parent(void)
{
	hak_ss_purger_fork_parent();
	pthread_mutex_unlock(&ss_lock);
}

void hak_ss_fork_child(void)
{
	/* a chunk another thread was purging stays out of the child's
	 * cache: mapped, counted as empty by hak_ss_usage(), never reused */
	purging = 0;
	pthread_mutex_init(&ss_lock, NULL);
	hak_ss_purger_fork_child();
}
