// SPDX-License-Identifier: MIT
/*
 * tiny/heap.c - the slow paths next to what they refill: heap attach and
 * detach, refill (drain, carve, scan, acquire), the non-owner free,
 * over-aligned blocks, trimming.
 *
 * Who touches what:
 * - A heap's lists and its slabs' owner-only fields: the heap's thread
 *   (or, for the global heap serving threads after their teardown, whoever
 *   holds global_lock).
 * - remote_hint: any thread (fetch_or, release), the owner clears it
 *   (exchange, acquire) before it scans its full slabs.
 * - The heap pool: pool_lock.
 *
 * Why the hint is enough: a remote free into a FULL slab either finds the
 * queue empty (then that pusher sets the class bit after its push) or
 * non-empty (then an earlier pusher set it after an earlier push and no
 * drain happened in between, so the owner's next scan after clearing the
 * bit finds the slab's queue non-empty).  The pusher reads the owner tag
 * before its push, while its own block keeps the slab out (used > 0);
 * heaps are never unmapped, so touching the heap after the push is safe.
 * The tag can still name a former owner if the slab was published and
 * adopted between the pusher's read and its push: refill's periodic sweep
 * (every TINY_SWEEP_EVERY refills of a class) bounds how long such a block
 * waits.
 *
 * Thread exit: drain, release empty slabs, publish the rest to the
 * mailbox, pool the (now empty) heap.  A later thread adopts published
 * slabs before it maps new memory, or when it frees a block into one.
 */
#include "tiny/tiny.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "debug/hooks.h"
#include "hak_lock.h"
#include "os/os.h"
#include "remote/remote.h"

enum { HEAP_EMPTY, HEAP_LIVE, HEAP_POOLED, HEAP_DEAD, HEAP_GLOBAL, HEAP_SHADOW };

#define TINY_CARVE_BYTES	8192
#define TINY_CARVE_MIN		8
#define TINY_SWEEP_EVERY	64
#define TINY_IDLE_LOOK		32

/* The sentinel slab: never has a free block, never matches an owner tag. */
static struct hak_slab empty_slab;

#define SENTINEL_HEAP(st) {						\
	.direct = { [0 ... TINY_NDIRECT - 1] = &empty_slab },		\
	.cur = { [0 ... TINY_NCLASS - 1] = &empty_slab },		\
	.state = (st),							\
}

/* A thread's heap before it first allocates. */
static struct hak_heap empty_heap = SENTINEL_HEAP(HEAP_EMPTY);
/* A thread's heap after its teardown: it allocates from global_heap. */
static struct hak_heap dead_heap = SENTINEL_HEAP(HEAP_DEAD);
/* Serves threads after their teardown, under global_lock. */
static struct hak_heap global_heap = SENTINEL_HEAP(HEAP_GLOBAL);
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;

__thread struct hak_heap *hak_tiny_heap HAK_TLS_IE = &empty_heap;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hak_heap *pool;		/* pool_lock */
static char *heap_bump, *heap_end;	/* pool_lock: fresh heap memory */
static _Atomic size_t nheaps;		/* stats only: relaxed */
static _Atomic int key_ready;
static struct hak_heap *all_heaps;	/* pool_lock to add; read at exit */
static bool counting;			/* HAKMEM_STATS: set once at init */
static bool slow_mode;			/* counting or tracing: shadow heaps */

/* ---- statistics ----------------------------------------------------------- */

static void stat(struct hak_heap *h, unsigned c, enum hak_tiny_stat k,
		 uint64_t n)
{
	/*
	 * relaxed load and store, no locked RMW: a heap's counters are
	 * written by its owner (the global heap's under its lock).  Threads
	 * after their teardown count into the global heap without the lock
	 * and may lose an increment: statistics, not accounting.
	 */
	if (hak_unlikely(h->state != HEAP_LIVE && h->state != HEAP_GLOBAL))
		h = &global_heap;
	hak_store_relaxed(&h->stat[c][k], hak_load_relaxed(&h->stat[c][k]) + n);
}

/* me - the heap whose slabs this thread owns (through a stats shadow) */
static struct hak_heap *me(void)
{
	struct hak_heap *h = hak_tiny_heap;

	return h->state == HEAP_SHADOW ? h->real : h;
}

bool hak_tiny_stats_sum(uint64_t out[TINY_NCLASS][TS_NSTAT])
{
	struct hak_heap *h;

	hak_lock(&pool_lock);
	h = all_heaps;
	hak_unlock(&pool_lock);
	for (; h; h = h->all_next)
		for (unsigned c = 0; c < TINY_NCLASS; c++)
			for (unsigned k = 0; k < TS_NSTAT; k++)
				out[c][k] += hak_load_relaxed(&h->stat[c][k]);
	for (unsigned c = 0; c < TINY_NCLASS; c++)
		for (unsigned k = 0; k < TS_NSTAT; k++)
			out[c][k] += hak_load_relaxed(&global_heap.stat[c][k]);
	return counting;
}

/* ---- slab lists (owner only) -------------------------------------------- */

static void slab_push(struct hak_slab **head, struct hak_slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static void slab_unlink(struct hak_slab **head, struct hak_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

/*
 * The partial list is a FIFO: slabs join at the tail (a free into a full
 * slab, a drain that found blocks) and refill takes the head, the slab that
 * has had the longest to collect frees since it was last found empty.
 */
static void part_add(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	s->next = NULL;
	s->prev = h->partial_tail[c];
	if (s->prev)
		s->prev->next = s;
	else
		h->partial[c] = s;
	h->partial_tail[c] = s;
}

static void part_del(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	if (h->partial_tail[c] == s)
		h->partial_tail[c] = s->prev;
	slab_unlink(&h->partial[c], s);
}

static uintptr_t tag_flags(const struct hak_slab *s)
{
	/* relaxed: owner-only read of a word only the owner writes */
	return hak_load_relaxed(&s->owner_tag) & TINY_TAG_FLAGS;
}

static void tag_set(struct hak_slab *s, struct hak_heap *h, uintptr_t flags)
{
	/* release: a remote freer loads the tag with acquire and then writes
	 * to the heap it names (remote_hint); this orders the heap's
	 * initialisation before that write even when the freer's block came
	 * from a former owner.  A plain store on x86; slow paths only. */
	hak_store_release(&s->owner_tag, (uintptr_t)h | flags);
}

/* slab_free - owner: hand an empty slab back to the superslab box */
static void slab_free(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	hak_ss_release(s);
	stat(h, c, TS_SLAB_FREE, 1);
}

/*
 * set_cur - owner: make @s class @c's current slab, in cur[] and, for the
 * small classes, in every direct[] slot whose sizes map to @c.
 */
static void set_cur(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	unsigned i, hi;

	h->cur[c] = s;
	hi = hak_tiny_class_size[c] / TINY_ALIGN;
	if (hi >= TINY_NDIRECT)
		return;
	i = c ? hak_tiny_class_size[c - 1] / TINY_ALIGN + 1 : 0;
	for (; i <= hi; i++) {
		HAK_ASSERT(hak_tiny_small_class[i] == c);
		h->direct[i] = s;
	}
}

/* ---- blocks ------------------------------------------------------------- */


static void sink_local(void *ctx, void *blk)
{
	struct hak_slab *s = ctx;

	HAK_FF_CHECK(hak_tiny_on_boundary(s, blk), "remote node does not belong "
		     "to the slab it was pushed to", s->cls, s, blk);
	/* a node pushed twice makes a cycle: it comes round again, onto a
	 * free list that already holds it (bounded scan) */
	if (HAK_FAILFAST) {
		void *q = s->free;

		for (unsigned i = 0; q && i < 64; i++, q = hak_link_get(q))
			HAK_FF_CHECK(q != blk, "remote node pushed twice "
				     "(double free)", s->cls, s, blk);
	}
	hak_link_set(blk, s->free);
	s->free = blk;
}

/* drain - owner: move the remote queue to the free list. */
static unsigned drain(struct hak_slab *s)
{
	struct hak_heap *owner = (struct hak_heap *)
		(hak_load_relaxed(&s->owner_tag) & HAK_TAG_OWNER_MASK);
	unsigned n;

	HAK_FF_CHECK(owner && (owner == me() || owner->state == HEAP_GLOBAL ||
			       hak_tiny_heap == &dead_heap),
		     "drain without owning the slab", s->cls, s, NULL);
	n = hak_remote_drain(s, sink_local, s);
	HAK_FF_CHECK(n <= s->used, "drained more blocks than are out",
		     s->cls, s, NULL);
	s->used -= n;
	if (n) {
		stat(owner, s->cls, TS_DRAINED, n);
		hak_trace(HAK_EV_DRAIN, s->cls, s, n);
	}
	return n;
}

/*
 * foster_settle - owner: take what other threads freed into fostered slab
 * @s and give it back to the superslab box the moment it is empty, so that
 * a thread that only frees (a consumer, the heir of exited threads) does
 * not hoard memory it never allocates from (invariant 8).  True if released.
 */
static bool foster_settle(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	if (hak_remote_pending(s))
		drain(s);
	if (s->used)
		return false;
	slab_unlink(&h->foster[c], s);
	slab_free(h, c, s);
	return true;
}

/* carve - owner: put the next batch of never-used blocks on the free list */
static bool carve(struct hak_slab *s)
{
	char *end = hak_ss_slab_start(s) + (size_t)s->capacity * s->stride;
	size_t left, n;
	char *b;

	if (s->bump >= end)
		return false;
	left = (size_t)(end - s->bump) / s->stride;
	n = TINY_CARVE_BYTES / s->stride;
	if (n < TINY_CARVE_MIN)
		n = TINY_CARVE_MIN;
	if (n > left)
		n = left;
	b = s->bump;
	for (size_t i = 0; i + 1 < n; i++, b += s->stride)
		hak_link_set(b, b + s->stride);
	hak_link_set(b, s->free);
	s->free = s->bump;
	s->bump = b + s->stride;
	return true;
}

static bool has_free(struct hak_slab *s)
{
	return s->free || (drain(s), s->free) || carve(s);
}

/* block_base - the block that contains @p (over-aligned pointers). */
static char *block_base(const struct hak_slab *s, const void *p)
{
	char *start = hak_ss_slab_start(s);
	size_t off = (size_t)((const char *)p - start);

	return start + off - off % s->stride;
}

/* ---- heap pool, attach, detach ------------------------------------------ */

static void heap_init_fresh(struct hak_heap *h)
{
	memset(h, 0, sizeof(*h));
	for (unsigned c = 0; c < TINY_NCLASS; c++)
		set_cur(h, c, &empty_slab);
}

/* heap_new - a fresh heap from the heap arena; pool_lock held */
static struct hak_heap *heap_new(void)
{
	struct hak_heap *h;

	if (heap_end - heap_bump < (ptrdiff_t)sizeof(*h)) {
		size_t sz = 256 * 1024;
		char *m = hak_os_map(sz);

		if (!m)
			return NULL;
		heap_bump = m;
		heap_end = m + sz;
	}
	h = (struct hak_heap *)heap_bump;
	heap_bump += sizeof(*h);
	heap_init_fresh(h);
	return h;
}

static struct hak_heap *heap_get(void)
{
	struct hak_heap *h;

	hak_lock(&pool_lock);
	h = pool;
	if (h) {
		pool = h->pool_next;
	} else {
		h = heap_new();
		if (h && slow_mode) {
			h->shadow = heap_new();
			if (!h->shadow) {
				h = NULL;	/* the arena's rest is lost: rare */
			} else {
				h->shadow->state = HEAP_SHADOW;
				h->shadow->real = h;
			}
		}
		if (!h) {
			hak_unlock(&pool_lock);
			return NULL;
		}
		h->id = (uint32_t)atomic_fetch_add_explicit(&nheaps, 1,
						memory_order_relaxed) + 1;
		h->all_next = all_heaps;
		all_heaps = h;
	}
	hak_unlock(&pool_lock);
	if (!h->trace)
		h->trace = hak_trace_ring_new();
	h->state = HEAP_LIVE;
	h->pool_next = NULL;
	return h;
}

/* collect - owner: drain everything; release empty slabs if asked. */
static size_t collect(struct hak_heap *h, bool release_empty)
{
	size_t released = 0;

	atomic_exchange_explicit(&h->remote_hint, 0, memory_order_acquire);
	for (unsigned c = 0; c < TINY_NCLASS; c++) {
		struct hak_slab *s, *next;

		for (s = h->full[c]; s; s = next) {
			next = s->next;
			drain(s);
			if (s->free || s->used < s->capacity) {
				slab_unlink(&h->full[c], s);
				tag_set(s, h, tag_flags(s) & ~TINY_TAG_FULL);
				part_add(h, c, s);
			}
		}
		for (s = h->partial[c]; s; s = next) {
			next = s->next;
			drain(s);
			if (release_empty && s->used == 0) {
				part_del(h, c, s);
				slab_free(h, c, s);
				released++;
			}
		}
		for (s = h->foster[c]; s; s = next) {
			next = s->next;
			if (!release_empty)
				drain(s);
			else if (foster_settle(h, c, s))
				released++;
		}
		s = h->cur[c];
		if (s != &empty_slab) {
			drain(s);
			if (release_empty && s->used == 0) {
				set_cur(h, c, &empty_slab);
				slab_free(h, c, s);
				released++;
			}
		}
	}
	return released;
}

/* publish_one - owner: hand @s to the mailbox, its list flags cleared */
static void publish_one(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	tag_set(s, h, tag_flags(s) & ~(TINY_TAG_FULL | TINY_TAG_FOSTER));
	hak_mbox_publish(c, s);
	stat(h, c, TS_PUBLISH, 1);
	hak_trace(HAK_EV_PUBLISH, c, s, 0);
}

/* publish_list - owner: publish every slab of a list (the caller resets
 * the list head) */
static void publish_list(struct hak_heap *h, unsigned c, struct hak_slab *s)
{
	struct hak_slab *next;

	for (; s; s = next) {
		next = s->next;
		publish_one(h, c, s);
	}
}

/* publish_all - owner: hand every slab left to the mailbox. */
static void publish_all(struct hak_heap *h)
{
	for (unsigned c = 0; c < TINY_NCLASS; c++) {
		if (h->cur[c] != &empty_slab)
			publish_one(h, c, h->cur[c]);
		set_cur(h, c, &empty_slab);
		publish_list(h, c, h->partial[c]);
		publish_list(h, c, h->full[c]);
		publish_list(h, c, h->foster[c]);
		h->partial[c] = h->full[c] = h->partial_tail[c] = NULL;
		h->foster[c] = NULL;
	}
	atomic_store_explicit(&h->remote_hint, 0, memory_order_relaxed);
}

/* The thread-exit hook: give everything back, pool the heap. */
static void heap_detach(void *arg)
{
	struct hak_heap *h = arg;

	if (!h || h->state != HEAP_LIVE)
		return;
	/* from here on this thread allocates from global_heap */
	hak_tiny_heap = &dead_heap;
	collect(h, true);
	publish_all(h);
	hak_trace_bind(NULL);
	h->state = HEAP_POOLED;
	hak_lock(&pool_lock);
	h->pool_next = pool;
	pool = h;
	hak_unlock(&pool_lock);
}

int hak_tiny_init(bool count, bool trace)
{
	counting = count;
	slow_mode = count || trace;
	int err = hak_os_thread_hook_init(heap_detach);

	if (!err)
		atomic_store_explicit(&key_ready, 1, memory_order_release);
	return err;
}

static struct hak_heap *heap_attach(void)
{
	struct hak_heap *h;

	hak_init();
	h = heap_get();
	if (!h)
		return NULL;
	hak_tiny_heap = h->shadow ? h->shadow : h;
	hak_trace_bind(h->trace);
	if (atomic_load_explicit(&key_ready, memory_order_acquire))
		hak_os_thread_arm(h);
	return h;
}

/* ---- refill --------------------------------------------------------------- */

/*
 * scan_full - owner: full slabs that got remote frees go back to the
 * partial list, or, when every block came back and the class has another
 * slab with room, to the superslab box; fostered slabs that got remote
 * frees are drained and go back to the box once empty.
 */
static void scan_full(struct hak_heap *h, unsigned c)
{
	struct hak_slab *s, *next;

	for (s = h->full[c]; s; s = next) {
		next = s->next;
		if (!hak_remote_pending(s))
			continue;
		drain(s);
		slab_unlink(&h->full[c], s);
		/* all blocks back: release it, but keep one spare per class so
		 * a producer/consumer pair does not turn slabs over per batch */
		if (s->used == 0 && h->partial[c]) {
			slab_free(h, c, s);
			continue;
		}
		tag_set(s, h, tag_flags(s) & ~TINY_TAG_FULL);
		part_add(h, c, s);
	}
	/* fostered slabs whose last blocks came home remotely */
	for (s = h->foster[c]; s; s = next) {
		next = s->next;
		foster_settle(h, c, s);
	}
}

/*
 * collect_hinted - owner: act on the remote hints of the other classes,
 * so that memory freed by other threads comes back while this thread
 * allocates at all, not only when it allocates that class again.
 */
static void collect_hinted(struct hak_heap *h, uint64_t skip)
{
	/* acquire: pairs with the pushers' release fetch_or */
	uint64_t hint = atomic_fetch_and_explicit(&h->remote_hint, skip,
						  memory_order_acquire) & ~skip;

	while (hint) {
		unsigned k = (unsigned)__builtin_ctzll(hint);

		hint &= hint - 1;
		scan_full(h, k);
	}
}

static void *pop(struct hak_slab *s)
{
	void *b = s->free;

	s->free = hak_link_get(b);
	HAK_FF_CHECK(hak_tiny_on_boundary(s, b), "free-list block outside its "
		     "slab or off a block boundary", s->cls, s, b);
	HAK_FF_CHECK(!s->free || hak_tiny_on_boundary(s, s->free),
		     "free-list next pointer outside its slab", s->cls, s,
		     s->free);
	HAK_FF_CHECK(s->used < s->capacity, "used count above capacity",
		     s->cls, s, b);
	s->used++;
	return b;
}

/*
 * release_idle - owner, about to map memory for class @c: give the other
 * classes' wholly free partial slabs back to the superslab box, so that a
 * program that moves from one size to another reuses its memory instead
 * of keeping every class's high-water mark (local frees take the fast
 * path, so a slab that empties there is only found here, at thread exit
 * or in malloc_trim).  Each class keeps one partial slab as its spare.
 * Looks at no more than TINY_IDLE_LOOK slabs that stay, round robin over
 * the classes, so a heap with many partly used slabs pays a bounded
 * amount per new slab.
 */
static void release_idle(struct hak_heap *h, unsigned c)
{
	unsigned look = TINY_IDLE_LOOK, k = h->idle_cursor % TINY_NCLASS;

	for (unsigned n = 0; n < TINY_NCLASS && look; n++, k = (k + 1) % TINY_NCLASS) {
		struct hak_slab *s, *next;

		if (k == c)
			continue;
		for (s = h->partial[k]; s && look; s = next) {
			next = s->next;
			if (s->used == 0 && (s != h->partial[k] || next)) {
				part_del(h, k, s);
				slab_free(h, k, s);
			} else {
				look--;
			}
		}
	}
	h->idle_cursor = (uint8_t)k;
}

/* refill - owner: make cur[c] a slab with a free block and pop one. */
static void *refill(struct hak_heap *h, unsigned c)
{
	struct hak_slab *s = h->cur[c];
	uint64_t bit = 1ULL << c;

	stat(h, c, TS_REFILL, 1);
	if (s != &empty_slab) {
		if (has_free(s))
			return pop(s);
		/* exhausted: park it on the full list */
		tag_set(s, h, tag_flags(s) | TINY_TAG_FULL);
		slab_push(&h->full[c], s);
		set_cur(h, c, &empty_slab);
	}
	/*
	 * relaxed read first: the fetch_and is the acquire that matters.
	 * Every TINY_SWEEP_EVERY refills of a class we look anyway: a pusher
	 * that read the owner just before a publish/adopt hinted the old one.
	 */
	if ((hak_load_relaxed(&h->remote_hint) & bit) ||
	    ++h->refills[c] % TINY_SWEEP_EVERY == 0) {
		atomic_fetch_and_explicit(&h->remote_hint, ~bit,
					  memory_order_acquire);
		scan_full(h, c);
	}
	/* now and then, the other classes' hints too */
	if ((h->refills[c] & 15) == 0 &&
	    (hak_load_relaxed(&h->remote_hint) & ~bit))
		collect_hinted(h, bit);
	while ((s = h->partial[c])) {
		part_del(h, c, s);
		if (has_free(s)) {
			set_cur(h, c, s);
			return pop(s);
		}
		tag_set(s, h, tag_flags(s) | TINY_TAG_FULL);
		slab_push(&h->full[c], s);
	}
	/* slabs we adopted by freeing into them: ours to allocate from now */
	while ((s = h->foster[c])) {
		slab_unlink(&h->foster[c], s);
		if (has_free(s)) {
			tag_set(s, h, tag_flags(s) & ~TINY_TAG_FOSTER);
			set_cur(h, c, s);
			return pop(s);
		}
		tag_set(s, h, (tag_flags(s) & ~TINY_TAG_FOSTER) | TINY_TAG_FULL);
		slab_push(&h->full[c], s);
	}
	/* adopt a published slab before mapping anything new */
	while ((s = hak_mbox_take(c, (uintptr_t)h))) {
		stat(h, c, TS_ADOPT, 1);
		hak_trace(HAK_EV_ADOPT, c, s, 0);
		if (has_free(s)) {
			set_cur(h, c, s);
			return pop(s);
		}
		tag_set(s, h, tag_flags(s) | TINY_TAG_FULL);
		slab_push(&h->full[c], s);
	}
	release_idle(h, c);
	s = hak_ss_acquire(hak_tiny_class_shift(c), hak_tiny_class_size[c]);
	if (!s)
		return NULL;
	stat(h, c, TS_SLAB_NEW, 1);
	s->cls = (uint8_t)c;
	tag_set(s, h, 0);
	/* tracked flavours: never-used memory is off limits to the user */
	hak_track_noaccess(hak_ss_slab_start(s), hak_ss_slab_usable(s));
	carve(s);
	set_cur(h, c, s);
	return pop(s);
}

static void *alloc_slow(unsigned cls);

/* slow_alloc/slow_free - a malloc/free in slow mode: counted
 * (HAKMEM_STATS; @h NULL: counted by the caller), shown to the heap
 * profiler (HAKMEM_PROFILE); out of line, behind the one slow_mode test
 * the paths make anyway, so that alloc_slow() stays as small as it was */
static HAK_SLOW void slow_alloc(struct hak_heap *h, unsigned cls, void *b)
{
	if (counting && h)	/* the global heap counts under its lock */
		stat(h, cls, TS_ALLOC, 1);
	hak_prof_alloc(b, hak_tiny_class_size[cls]);
}

static HAK_SLOW void slow_free(struct hak_heap *h, unsigned cls, void *base)
{
	if (counting)
		stat(h, cls, TS_FREE, 1);
	hak_prof_free(base);
}

void *hak_tiny_alloc_slow_small(size_t idx)
{
	return hak_tiny_alloc_slow(hak_tiny_small_class[idx]);
}

void *hak_tiny_alloc_slow(unsigned cls)
{
	void *b = alloc_slow(cls);

	if (hak_unlikely(!b))
		errno = ENOMEM;
	return b;
}

/* alloc_global - a thread after its teardown: the global heap */
static HAK_SLOW void *alloc_global(unsigned cls)
{
	void *b;

	hak_lock(&global_lock);
	b = refill(&global_heap, cls);
	if (counting && b)
		stat(&global_heap, cls, TS_ALLOC, 1);
	hak_unlock(&global_lock);
	if (slow_mode && b)	/* not under the lock: the profiler unwinds */
		slow_alloc(NULL, cls, b);
	return b;
}

static void *alloc_slow(unsigned cls)
{
	struct hak_heap *h = hak_tiny_heap;
	void *b;

	if (h->state == HEAP_EMPTY) {
		h = heap_attach();
		if (!h)
			goto global;
		h = me();
	} else if (h->state == HEAP_SHADOW) {
		h = h->real;
	} else if (h->state == HEAP_DEAD) {
		goto global;
	}
	b = h->cur[cls]->free ? pop(h->cur[cls]) : refill(h, cls);
	if (slow_mode && b)
		slow_alloc(h, cls, b);
	hak_trace(HAK_EV_ALLOC, cls, b, hak_tiny_class_size[cls]);
	return b;
global:
	return alloc_global(cls);
}

/* ---- free slow paths ---------------------------------------------------- */

/*
 * hak_tiny_ff_free - the fail-fast checks of a free by the owner: the
 * chunk's magic, the block on a boundary of its slab, the count, and a
 * bounded scan for the block already on the free list.
 */
void hak_tiny_ff_free(struct hak_slab *s, void *p)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);
	uintptr_t tag = hak_load_relaxed(&s->owner_tag);
	void *q = s->free;

	HAK_FF_CHECK(c->magic == SS_MAGIC, "registry entry without a valid "
		     "SuperSlab magic", s->cls, s, p);
	HAK_FF_CHECK((tag & TINY_TAG_ALIGNED) ? hak_tiny_in_slab(s, p) :
		     hak_tiny_on_boundary(s, p), "free of a pointer that is not "
		     "a block start (interior pointer?)", s->cls, s, p);
	for (unsigned i = 0; q && i < 64; i++, q = hak_link_get(q)) {
		HAK_FF_CHECK(q != p, "double free: block already on its "
			     "slab's free list", s->cls, s, p);
		HAK_FF_CHECK(hak_tiny_on_boundary(s, q), "free-list next "
			     "pointer outside its slab", s->cls, s, q);
	}
	HAK_FF_CHECK(s->used > 0, "used count would go negative", s->cls, s, p);
}

void hak_tiny_double_free(struct hak_slab *s, void *p)
{
	if (HAK_FAILFAST)
		hak_failfast("double free: block at the head of its slab's "
			     "free list", s->cls, s, p);
	hak_fatal("hakmem: free(): double free of %p (size class %u, slab %p)",
		  p, (unsigned)s->cls, (void *)s);
}

static HAK_NORETURN void invalid(const char *what, const void *p,
				 const struct hak_slab *s)
{
	if (HAK_FAILFAST)
		hak_failfast(what, s->cls, s, p);
	hak_fatal("hakmem: %s(): invalid pointer %p (%s, slab %p)", "free",
		  p, what, (const void *)s);
}

bool hak_tiny_valid(const void *p, unsigned shift)
{
	struct hak_slab *s = hak_ss_slab_of((uintptr_t)p, shift);
	char *start;

	if (!hak_load_relaxed(&s->owner_tag))
		return false;
	start = hak_ss_slab_start(s);
	return (const char *)p >= start &&
	       (const char *)p < start + (size_t)s->capacity * s->stride;
}

/*
 * act_on_hints - owner, in a slow free: collect the classes that remote
 * frees hinted.  A thread that has stopped allocating never refills, so
 * its frees into flagged slabs are where what others freed into its slabs
 * comes back.  Relaxed peek; collect_hinted's fetch_and is the acquire.
 */
static void act_on_hints(struct hak_heap *h)
{
	if (hak_unlikely(hak_load_relaxed(&h->remote_hint)))
		collect_hinted(h, 0);
}

/*
 * free_other - every free the fast path did not take but the plain remote
 * push: the owner's frees into flagged slabs, frees into published slabs,
 * over-aligned blocks, counting and tracing, bad pointers.
 */
static __attribute__((noinline)) void free_other(struct hak_slab *s,
						  void *p, char *start)
{
	struct hak_heap *h = me();
	struct hak_heap *owner;
	uintptr_t tag;
	void *base = p;

retry:
	/* acquire: pairs with tag_set()'s and the mailbox's release stores,
	 * so that the heap the tag names is initialised before we touch its
	 * remote_hint.  The owner's identity and the ALIGNED bit are stable
	 * while our block is out but for a publish/adopt, which the retry
	 * below handles. */
	tag = hak_load_acquire(&s->owner_tag);
	owner = (struct hak_heap *)(tag & HAK_TAG_OWNER_MASK);
	if (hak_unlikely(!owner) && !(tag & HAK_TAG_PUBLISHED))
		invalid("block of an unused slab: double free?", p, s);
	if (hak_unlikely((char *)p < start ||
			 (char *)p >= start + (size_t)s->capacity * s->stride))
		invalid("outside its slab's blocks", p, s);
	if (tag & TINY_TAG_ALIGNED)
		base = block_base(s, p);
	else if (HAK_DEBUG >= 1 && ((char *)p - start) % s->stride)
		invalid("free of a pointer that is not a block start (interior pointer?)", p, s);

	if (slow_mode)
		slow_free(h, s->cls, base);
	hak_trace(HAK_EV_FREE, s->cls, p, owner == h);
	if (owner == h) {
		unsigned c = s->cls;

		if (hak_unlikely(s->free == base))
			hak_tiny_double_free(s, p);
		if (HAK_FAILFAST)
			hak_tiny_ff_free(s, base);
		hak_link_set(base, s->free);
		s->free = base;
		s->used--;
		if (tag & TINY_TAG_FULL) {
			slab_unlink(&h->full[c], s);
			tag_set(s, h, (tag & TINY_TAG_FLAGS) & ~TINY_TAG_FULL);
			part_add(h, c, s);
		} else if (tag & TINY_TAG_FOSTER) {
			foster_settle(h, c, s);
		}
		act_on_hints(h);
		return;
	}
	/* a free into a published slab adopts it (our block pins the slab);
	 * a thread that has only freed so far gets its heap for that, or the
	 * slab would wait in the mailbox for an allocation of its class */
	if ((tag & HAK_TAG_PUBLISHED) && h->state == HEAP_EMPTY &&
	    heap_attach())
		h = me();
	if ((tag & HAK_TAG_PUBLISHED) && h->state == HEAP_LIVE) {
		unsigned c = s->cls;

		if (!hak_mbox_adopt(c, s, (uintptr_t)h)) {
			if (counting)	/* counted again after the retry */
				stat(h, c, TS_FREE, (uint64_t)-1);
			goto retry;	/* someone else adopted it first */
		}
		stat(h, c, TS_ADOPT, 1);
		hak_trace(HAK_EV_ADOPT, c, s, 1);
		hak_link_set(base, s->free);
		s->free = base;
		s->used--;
		tag_set(s, h, tag_flags(s) | TINY_TAG_FOSTER);
		slab_push(&h->foster[c], s);
		foster_settle(h, c, s);
		act_on_hints(h);
		return;
	}
	/* a remote free: read everything we need before the push */
	uint64_t bit = 1ULL << s->cls;

	if (counting)
		stat(h, s->cls, TS_REMOTE, 1);
	hak_trace(HAK_EV_REMOTE_PUSH, s->cls, base, (uintptr_t)owner);
	if (hak_remote_push(s, base) && owner)
		/* release: the owner's acquire on the hint sees our push */
		atomic_fetch_or_explicit(&owner->remote_hint, bit,
					 memory_order_release);
}

/*
 * hak_tiny_free_slow - a free whose slab's tag is not the thread's heap.
 * The common case, a plain remote free, is handled here as a leaf: check
 * the pointer lies in the slab, push, hint the owner if the queue was
 * empty.  Everything else goes to free_other().
 */
void hak_tiny_free_slow(struct hak_slab *s, void *p, unsigned shift)
{
	/* acquire: see free_other() */
	uintptr_t tag = hak_load_acquire(&s->owner_tag);
	struct hak_heap *owner = (struct hak_heap *)(tag & HAK_TAG_OWNER_MASK);
	char *start = hak_ss_block_area_of((uintptr_t)p, shift);

	HAK_ASSERT(start == hak_ss_slab_start(s));
	/* no shadow heaps unless slow_mode, so the TLS heap is me() here */
	if (hak_unlikely(slow_mode || !owner ||
			 (tag & (HAK_TAG_PUBLISHED | TINY_TAG_ALIGNED)) ||
			 owner == hak_tiny_heap ||
			 (char *)p < start ||
			 (char *)p >= start + (size_t)s->capacity * s->stride ||
			 (HAK_DEBUG >= 1 && ((char *)p - start) % s->stride))) {
		free_other(s, p, start);
		return;
	}
	if (hak_remote_push(s, p))
		/* release: the owner's acquire on the hint sees our push */
		atomic_fetch_or_explicit(&owner->remote_hint,
					 1ULL << s->cls, memory_order_release);
}

/* ---- over-aligned blocks, sizes ----------------------------------------- */

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
		unsigned shift = hak_reg_kind((uintptr_t)b);
		struct hak_slab *s = hak_ss_slab_of((uintptr_t)b, shift);
		uintptr_t tag = hak_load_relaxed(&s->owner_tag);

		/* the block came from our own heap (or the global heap, under
		 * its lock... which we no longer hold: mark from any owner is
		 * still an owner-word store, so take the lock for that case) */
		if (!(tag & TINY_TAG_ALIGNED)) {
			if (hak_tiny_heap->state == HEAP_DEAD) {
				hak_lock(&global_lock);
				tag = hak_load_relaxed(&s->owner_tag);
				hak_store_relaxed(&s->owner_tag,
						  tag | TINY_TAG_ALIGNED);
				hak_unlock(&global_lock);
			} else {
				hak_store_relaxed(&s->owner_tag,
						  tag | TINY_TAG_ALIGNED);
			}
		}
	}
	return p;
}

size_t hak_tiny_usable(const void *p, unsigned shift)
{
	struct hak_slab *s = hak_ss_slab_of((uintptr_t)p, shift);
	uintptr_t tag = hak_load_relaxed(&s->owner_tag);

	if (tag & TINY_TAG_ALIGNED)
		return (size_t)(block_base(s, p) + s->stride - (const char *)p);
	return s->stride;
}

size_t hak_tiny_trim(void)
{
	struct hak_heap *h = me();
	size_t n = 0;

	if (h->state == HEAP_LIVE) {
		/* adopt what exited threads left, so that empty slabs go back */
		for (unsigned c = 0; c < TINY_NCLASS; c++) {
			struct hak_slab *s;

			while ((s = hak_mbox_take(c, (uintptr_t)h)))
				part_add(h, c, s);
		}
		n += collect(h, true);
	}
	hak_lock(&global_lock);
	n += collect(&global_heap, true);
	hak_unlock(&global_lock);
	return n;
}

size_t hak_tiny_heaps(void)
{
	return hak_load_relaxed(&nheaps);
}

void hak_tiny_fork_prepare(void)
{
	pthread_mutex_lock(&pool_lock);
	pthread_mutex_lock(&global_lock);
}

void hak_tiny_fork_parent(void)
{
	pthread_mutex_unlock(&global_lock);
	pthread_mutex_unlock(&pool_lock);
}

void hak_tiny_fork_child(void)
{
	pthread_mutex_init(&global_lock, NULL);
	pthread_mutex_init(&pool_lock, NULL);
}
