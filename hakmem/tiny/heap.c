// SPDX-License-Identifier: MIT
/*
 * tiny/heap.c - a thread's heap from birth to pool: the sentinel heaps, the
 * heap pool, attach (a thread's first slow path) and detach (its exit),
 * collecting and publishing everything a heap holds, trimming, the
 * statistics sum and the fork handlers.
 *
 * Thread exit: drain, release empty slabs, publish the rest to the
 * mailbox, pool the (now empty) heap.  A later thread adopts published
 * slabs before it maps new memory (refill.c), or when it frees a block
 * into one (free.c).  Heaps are never unmapped (tiny.h).
 */
#include "tiny/tiny_internal.h"

#include "hak_lock.h"
#include "os/os.h"

struct hak_slab hak_tiny_empty_slab;

/*
 * A thread's heap before it first allocates: malloc may run before any
 * constructor (ld.so, another library's), so its fast path must find
 * the sentinel slab here from the first instruction.  The one heap
 * initialised statically: each of its 113 slab pointers is a relocation
 * that ld.so writes at load time, dirtying the page.
 */
static struct hak_heap empty_heap = {
	.direct = { [0 ... TINY_NDIRECT - 1] = &hak_tiny_empty_slab },
	.cur = { [0 ... TINY_NCLASS - 1] = &hak_tiny_empty_slab },
	.state = HEAP_EMPTY,
};
/* .bss: hak_tiny_init() fills in the dead heap (no thread is dead before
 * start-up), hak_tiny_global_heap_get() the global heap the first time a
 * thread allocates after its teardown; until then only its counters are
 * written, which start at 0 */
struct hak_heap hak_tiny_dead_heap;
struct hak_heap hak_tiny_global_heap HAK_LBSS;
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;

__thread struct hak_heap *hak_tiny_heap HAK_TLS_IE = &empty_heap;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hak_heap *pool;		/* pool_lock */
static char *heap_bump, *heap_end;	/* pool_lock: fresh heap memory */
static _Atomic size_t nheaps;		/* stats only: relaxed */
static _Atomic int key_ready;
static struct hak_heap *all_heaps;	/* pool_lock to add; read at exit */
bool hak_tiny_counting;
bool hak_tiny_slow_mode;

/* sentinel_init - @h points every class at the sentinel slab */
static void sentinel_init(struct hak_heap *h, uint32_t state)
{
	for (unsigned c = 0; c < TINY_NCLASS; c++)
		hak_tiny_set_cur(h, c, &hak_tiny_empty_slab);
	h->state = state;
}

void hak_tiny_global_lock(void)
{
	hak_lock(&global_lock);
}

struct hak_heap *hak_tiny_global_heap_get(void)
{
	if (hak_unlikely(hak_tiny_global_heap.state != HEAP_GLOBAL))
		sentinel_init(&hak_tiny_global_heap, HEAP_GLOBAL);
	return &hak_tiny_global_heap;
}

void hak_tiny_global_unlock(void)
{
	hak_unlock(&global_lock);
}

/* ---- statistics ----------------------------------------------------------- */

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
			out[c][k] += hak_load_relaxed(&hak_tiny_global_heap.stat[c][k]);
	return hak_tiny_counting;
}

size_t hak_tiny_heaps(void)
{
	return hak_load_relaxed(&nheaps);
}

/* ---- heap pool, attach, detach ------------------------------------------ */

/*
 * heap_new - a fresh heap from the heap arena; pool_lock held.  Arena
 * memory reads 0 (hak_os_map()): no memset, so a page of it becomes
 * resident only when a field on it is written.  The first heap of a
 * program whose classes are all below 21 (1280 B) stays in one page.
 */
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
	for (unsigned c = 0; c < TINY_NCLASS; c++)
		hak_tiny_set_cur(h, c, &hak_tiny_empty_slab);
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
		if (h && hak_tiny_slow_mode) {
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
			hak_tiny_drain(s);
			if (s->free || s->used < s->capacity)
				hak_tiny_unfull(h, c, s);
		}
		for (s = h->partial[c]; s; s = next) {
			next = s->next;
			hak_tiny_drain(s);
			if (release_empty && s->used == 0) {
				part_del(h, c, s);
				hak_tiny_slab_free(h, c, s);
				released++;
			}
		}
		for (s = h->foster[c]; s; s = next) {
			next = s->next;
			if (!release_empty)
				hak_tiny_drain(s);
			else if (hak_tiny_foster_settle(h, c, s))
				released++;
		}
		s = h->cur[c];
		if (s != &hak_tiny_empty_slab) {
			hak_tiny_drain(s);
			if (release_empty && s->used == 0) {
				hak_tiny_set_cur(h, c, &hak_tiny_empty_slab);
				hak_tiny_slab_free(h, c, s);
				released++;
			}
		}
	}
	return released;
}

/* publish_one - owner: add @s to @bt, its list flags cleared */
static void publish_one(struct hak_heap *h, struct hak_mbox_batch *bt,
			unsigned c, struct hak_slab *s)
{
	tag_set(s, h, tag_flags(s) & ~(HAK_TAG_FULL | HAK_TAG_FOSTER));
	hak_mbox_batch_add(bt, c, s);
	stat_add(h, c, TS_PUBLISH, 1);
	hak_trace(HAK_EV_PUBLISH, c, s, 0);
}

/* publish_list - owner: add every slab of a list to @bt (the caller
 * resets the list head; the batch relinks the slabs when it flushes) */
static void publish_list(struct hak_heap *h, struct hak_mbox_batch *bt,
			 unsigned c, struct hak_slab *s)
{
	struct hak_slab *next;

	for (; s; s = next) {
		next = s->next;
		publish_one(h, bt, c, s);
	}
}

/* publish_all - owner: hand every slab left to the mailbox, a batch of
 * them per acquisition of its lock. */
static void publish_all(struct hak_heap *h)
{
	struct hak_mbox_batch bt = { .n = 0 };

	for (unsigned c = 0; c < TINY_NCLASS; c++) {
		if (h->cur[c] != &hak_tiny_empty_slab)
			publish_one(h, &bt, c, h->cur[c]);
		hak_tiny_set_cur(h, c, &hak_tiny_empty_slab);
		publish_list(h, &bt, c, h->partial[c]);
		publish_list(h, &bt, c, h->full[c]);
		publish_list(h, &bt, c, h->foster[c]);
		h->partial[c] = h->full[c] = h->partial_tail[c] = NULL;
		h->foster[c] = NULL;
	}
	hak_mbox_batch_flush(&bt);
	atomic_store_explicit(&h->remote_hint, 0, memory_order_relaxed);
}

/* The thread-exit hook: give everything back, pool the heap. */
static void heap_detach(void *arg)
{
	struct hak_heap *h = arg;

	if (!h || h->state != HEAP_LIVE)
		return;
	/* from here on this thread allocates from the global heap */
	hak_tiny_heap = &hak_tiny_dead_heap;
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
	sentinel_init(&hak_tiny_dead_heap, HEAP_DEAD);
	hak_tiny_counting = count;
	hak_tiny_slow_mode = count || trace;
	int err = hak_os_thread_hook_init(heap_detach);

	if (!err)
		atomic_store_explicit(&key_ready, 1, memory_order_release);
	return err;
}

struct hak_heap *hak_tiny_attach(void)
{
	struct hak_heap *h;

	/* the library's start-up (it calls hak_tiny_init()) before the
	 * first heap */
	hak_start();
	h = heap_get();
	if (!h)
		return NULL;
	hak_tiny_heap = h->shadow ? h->shadow : h;
	hak_trace_bind(h->trace);
	if (atomic_load_explicit(&key_ready, memory_order_acquire))
		hak_os_thread_arm(h);
	return h;
}

/* ---- trim, fork --------------------------------------------------------- */

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
	if (hak_tiny_global_heap.state == HEAP_GLOBAL)	/* ever used */
		n += collect(&hak_tiny_global_heap, true);
	hak_unlock(&global_lock);
	return n;
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
