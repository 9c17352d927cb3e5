// SPDX-License-Identifier: MIT
/*
 * api.c - the hak_* entry points: size dispatch, glibc edge semantics,
 * start-up (and its lock around fork), statistics.  errno is set here and
 * only here (and in override.c, which shares these bodies).
 */
#include "api.h"

#include <pthread.h>
#include <string.h>

#include "debug/debug.h"
#include "hak_lock.h"
#include "hakmem.h"
#include "options.h"
#include "os/os.h"
#include "remote/remote.h"

/* ---- start-up ----------------------------------------------------------- */

static _Atomic int init_done;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int in_init HAK_TLS_IE;

/* init_lock around fork (fork.c takes every lock, in order) */
void hak_api_fork_prepare(void)
{
	pthread_mutex_lock(&init_lock);
}

void hak_api_fork_parent(void)
{
	pthread_mutex_unlock(&init_lock);
}

void hak_api_fork_child(void)
{
	pthread_mutex_init(&init_lock, NULL);
}

/*
 * hak_init - called from every slow path that needs options or the thread
 * hook.  A malloc re-entered from inside start-up (pthread_atfork may
 * allocate) returns at once: everything the allocator needs to serve it is
 * statically initialised.
 */
void hak_init(void)
{
	/* acquire: pairs with the release below; options are visible */
	if (hak_likely(atomic_load_explicit(&init_done, memory_order_acquire)))
		return;
	if (in_init)
		return;
	in_init = 1;
	hak_lock(&init_lock);
	if (!atomic_load_explicit(&init_done, memory_order_relaxed)) {
		hak_options_init();
		hak_trace_init(hak_opt(HAK_OPT_TRACE_RING) != 0);
		hak_prof_init(hak_opt_str(HAK_OPT_PROFILE),
			      hak_opt(HAK_OPT_PROFILE_INTERVAL));
		hak_large_config(hak_opt(HAK_OPT_LARGE_CACHE_MS));
		/* the profiler, like the trace ring, wants every malloc and
		 * free in a slow path: the tiny box's shadow heaps */
		if (hak_tiny_init(hak_opt(HAK_OPT_STATS) != 0,
				  hak_opt(HAK_OPT_TRACE_RING) != 0 ||
				  hak_prof_on))
			hak_warn("hakmem: no thread-exit hook; exited threads' "
				 "heaps are not recycled");
		pthread_atfork(hak_fork_prepare, hak_fork_parent,
			       hak_fork_child);
		atomic_store_explicit(&init_done, 1, memory_order_release);
	}
	hak_unlock(&init_lock);
	in_init = 0;
}

__attribute__((destructor)) static void at_exit(void)
{
	if (atomic_load_explicit(&init_done, memory_order_acquire) &&
	    hak_opt(HAK_OPT_STATS))
		hak_api_stats_print();
}

/* ---- slow dispatch ------------------------------------------------------ */

void *hak_api_malloc_mid(size_t size)
{
	if (size <= TINY_MAX)
		return hak_tiny_alloc(size);
	return hak_api_malloc_large(size);
}

void *hak_api_malloc_large(size_t size)
{
	void *p;

	hak_init();
	p = hak_large_alloc(size, 0, false);
	if (!p)
		errno = ENOMEM;
	return p;
}

void hak_api_free_other(void *p, const char *call)
{
	if (!p)
		return;
	/* a large block, or not ours: hak_large_free() tells which, and
	 * names a foreign or doubly freed pointer before it aborts */
	(void)call;
	hak_large_free(p);
}

/* alloc_any - malloc; the paths that fail set errno */
static void *alloc_any(size_t size)
{
	return hak_api_malloc(size);
}

static void *tracked_calloc(size_t total);

void *hak_api_calloc(size_t nmemb, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(nmemb, size, &total) ||
	    total > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (HAK_TRACK)
		return tracked_calloc(total);
	if (total > TINY_MAX) {
		hak_init();
		p = hak_large_alloc(total, 0, true);
		if (!p)
			errno = ENOMEM;
		return p;
	}
	p = alloc_any(total);
	if (p)
		memset(p, 0, total);
	return p;
}

static size_t tracked_usable(const void *p);

size_t hak_api_usable_size(const void *p)
{
	uint8_t kind = hak_reg_kind((uintptr_t)p);

	if (HAK_TRACK)
		return tracked_usable(p);

	if (!p)
		return 0;
	if (kind >= SS_MIN_SLAB_SHIFT) {
		if (!hak_tiny_valid(p, kind))
			hak_fatal("hakmem: malloc_usable_size(): invalid "
				  "pointer %p", p);
		return hak_tiny_usable(p, kind);
	}
	return hak_large_usable(p);
}

static void *tracked_realloc(void *p, size_t size);

void *hak_api_realloc(void *p, size_t size)
{
	uint8_t kind;
	size_t usable;
	void *q;

	if (HAK_TRACK)
		return tracked_realloc(p, size);
	if (!p)
		return alloc_any(size);
	if (size == 0) {
		hak_api_free(p);
		return NULL;
	}
	if (size > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	kind = hak_reg_kind((uintptr_t)p);
	if (kind >= SS_MIN_SLAB_SHIFT) {
		if (!hak_tiny_valid(p, kind))
			hak_fatal("hakmem: realloc(): invalid pointer %p", p);
		usable = hak_tiny_usable(p, kind);
		/* stay when it fits and wastes at most half */
		if (size <= usable && size > usable / 2)
			return p;
	} else {
		usable = hak_large_usable(p);
		if (size > TINY_MAX) {
			q = hak_large_realloc(p, size);
			if (!q)
				errno = ENOMEM;
			return q;
		}
	}
	q = alloc_any(size);
	if (!q)
		return NULL;
	memcpy(q, p, size < usable ? size : usable);
	hak_api_free(p);
	return q;
}

void *hak_api_reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return hak_api_realloc(p, total);
}

static void *tracked_aligned(size_t align, size_t size);

/* hak_api_aligned - @align is a power of two. */
void *hak_api_aligned(size_t align, size_t size)
{
	void *p = NULL;

	if (HAK_TRACK)
		return tracked_aligned(align, size);
	if (align <= TINY_ALIGN)
		return alloc_any(size);
	if (size > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (size <= TINY_MAX)
		p = hak_tiny_alloc_aligned(size, align);
	if (!p) {
		hak_init();
		p = hak_large_alloc(size, align, false);
	}
	if (!p)
		errno = ENOMEM;
	return p;
}

int hak_api_posix_memalign(void **memptr, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || !HAK_IS_POW2(align))
		return EINVAL;
	int saved = errno;
	p = hak_api_aligned(align, size);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*memptr = p;
	return 0;
}

void *hak_api_memalign(size_t align, size_t size)
{
	/* glibc: a non-power-of-two alignment is rounded up */
	if (!HAK_IS_POW2(align)) {
		if (align > ((size_t)1 << 62)) {
			errno = EINVAL;
			return NULL;
		}
		size_t a = 1;
		while (a < align)
			a <<= 1;
		align = a;
	}
	return hak_api_aligned(align, size);
}

void *hak_api_aligned_alloc(size_t align, size_t size)
{
	if (!HAK_IS_POW2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return hak_api_aligned(align, size);
}

void *hak_api_valloc(size_t size)
{
	return hak_api_aligned(HAK_PAGE_SIZE, size);
}

void *hak_api_pvalloc(size_t size)
{
	size_t rounded;

	if (__builtin_add_overflow(size, HAK_PAGE_SIZE - 1, &rounded)) {
		errno = ENOMEM;
		return NULL;
	}
	rounded &= ~(HAK_PAGE_SIZE - 1);
	return hak_api_aligned(HAK_PAGE_SIZE, rounded ? rounded : HAK_PAGE_SIZE);
}

/* ---- tracked flavours (asan-preload, valgrind) ------------------------------
 *
 * Every block is allocated HAK_REDZONE bytes larger than asked; the user
 * size is kept in the last word of the block's usable area, so that the
 * slack after the user's bytes is poisoned (an overflow into the next
 * block is caught) and malloc_usable_size() is exact.  A freed block's size
 * word reads FREED_SIZE until the block is handed out again, which catches
 * a double free before it corrupts a list.  realloc moves unless the new
 * size fits in the block.
 */
#define HAK_REDZONE	16
#define FREED_SIZE	((size_t)-1)

static void *raw_malloc(size_t size)
{
	if (size <= TINY_MAX)
		return hak_tiny_alloc(size);
	return hak_api_malloc_large(size);
}

static size_t raw_usable(const void *p, const char *call)
{
	uint8_t kind = hak_reg_kind((uintptr_t)p);

	if (kind >= SS_MIN_SLAB_SHIFT) {
		if (!hak_tiny_valid(p, kind))
			hak_fatal("hakmem: %s(): invalid pointer %p", call, p);
		return hak_tiny_usable(p, kind);
	}
	if (!hak_large_owns(p))
		hak_fatal("hakmem: %s(): invalid pointer %p", call, p);
	return hak_large_usable(p);
}

static size_t *size_slot(void *p, size_t usable)
{
	return (size_t *)((char *)p + usable - sizeof(size_t));
}

static size_t slot_get(void *p, size_t usable)
{
	return (size_t)(uintptr_t)hak_link_get(size_slot(p, usable));
}

static void slot_set(void *p, size_t usable, size_t size)
{
	hak_link_set(size_slot(p, usable), (void *)(uintptr_t)size);
}

/* track_out - hand @p out for @size bytes (block fresh from a raw path) */
static void *track_out(void *p, size_t size, bool zeroed)
{
	size_t usable;

	if (!p)
		return NULL;
	usable = raw_usable(p, "malloc");
	hak_track_noaccess(p, usable);
	slot_set(p, usable, size);
	hak_track_alloc(p, size, zeroed);
	return p;
}

/* tracked_size - the user size of live block @p; diagnoses a double free */
static size_t tracked_size(void *p, const char *call)
{
	size_t usable = raw_usable(p, call), size = slot_get(p, usable);

	if (size == FREED_SIZE || size + HAK_REDZONE > usable) {
		hak_warn("hakmem: %s(): %s %p", call, size == FREED_SIZE ?
			 "double free of" : "corrupted block at", p);
		hak_track_free(p, 0);	/* valgrind: "Invalid free()" */
#if HAK_ASAN
		__asan_report_error(__builtin_return_address(0),
				    __builtin_frame_address(0),
				    __builtin_frame_address(0), p, 1, 1);
#endif
		hak_fatal("hakmem: %s(): %s %p", call, size == FREED_SIZE ?
			  "double free of" : "corrupted block at", p);
	}
	return size;
}

/*
 * ASan bootstrap.  Preloaded into an ASan program, hakmem's malloc is
 * called by the ASan runtime while it installs its interceptors, before it
 * maps its shadow memory: instrumented code would fault there.  Until our
 * own constructor has run (after the runtime's), requests are served by
 * this uninstrumented bump arena; its blocks are never reused.
 */
#define BOOT_SIZE	(256 * 1024)
static char boot_arena[BOOT_SIZE] __attribute__((aligned(16)));
static _Atomic size_t boot_used;
static _Atomic int asan_ready;

__attribute__((constructor(101))) static void asan_ctor(void)
{
	atomic_store_explicit(&asan_ready, 1, memory_order_release);
}

static bool boot_owns(const void *p)
{
	return HAK_ASAN && (const char *)p >= boot_arena &&
	       (const char *)p < boot_arena + BOOT_SIZE;
}

HAK_LINK_FN void *boot_alloc(size_t size)
{
	size_t need = HAK_ALIGN_UP(size, 16) + 16;
	size_t at = atomic_fetch_add_explicit(&boot_used, need,
					      memory_order_relaxed);

	if (size > BOOT_SIZE || at + need > BOOT_SIZE)
		return NULL;
	*(size_t *)(boot_arena + at) = size;
	return boot_arena + at + 16;
}

HAK_LINK_FN size_t boot_size(const void *p)
{
	return *(const size_t *)((const char *)p - 16);
}

void *hak_api_malloc_tracked(size_t size)
{
	/* acquire: pairs with the constructor's release */
	if (HAK_ASAN && hak_unlikely(!atomic_load_explicit(&asan_ready,
						memory_order_acquire)))
		return boot_alloc(size);
	if (size > (size_t)PTRDIFF_MAX - HAK_REDZONE) {
		errno = ENOMEM;
		return NULL;
	}
	return track_out(raw_malloc(size + HAK_REDZONE), size, false);
}

void hak_api_free_tracked(void *p)
{
	size_t size, usable;
	uint8_t kind;

	if (!p || boot_owns(p))
		return;
	size = tracked_size(p, "free");
	usable = raw_usable(p, "free");
	slot_set(p, usable, FREED_SIZE);
	hak_track_free(p, size);
	kind = hak_reg_kind((uintptr_t)p);
	if (kind >= SS_MIN_SLAB_SHIFT)
		hak_tiny_free(p, kind);
	else
		hak_large_free(p);
}

static size_t tracked_usable(const void *p)
{
	if (boot_owns(p))
		return boot_size(p);
	return p ? tracked_size((void *)p, "malloc_usable_size") : 0;
}

static void *tracked_calloc(size_t total)
{
	void *p = hak_api_malloc_tracked(total);

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	memset(p, 0, total);
	return p;
}

static void *tracked_aligned(size_t align, size_t size)
{
	void *p = NULL;

	if (size > (size_t)PTRDIFF_MAX - HAK_REDZONE) {
		errno = ENOMEM;
		return NULL;
	}
	if (align <= TINY_ALIGN)
		p = raw_malloc(size + HAK_REDZONE);
	else if (size + HAK_REDZONE <= TINY_MAX)
		p = hak_tiny_alloc_aligned(size + HAK_REDZONE, align);
	if (!p)
		p = hak_large_alloc(size + HAK_REDZONE, align, false);
	if (!p)
		errno = ENOMEM;
	return track_out(p, size, false);
}

static void *tracked_realloc(void *p, size_t size)
{
	size_t old, usable;
	void *q;

	if (!p) {
		q = hak_api_malloc_tracked(size);
		if (!q)
			errno = ENOMEM;
		return q;
	}
	if (size == 0) {
		hak_api_free_tracked(p);
		return NULL;
	}
	if (boot_owns(p)) {
		q = hak_api_malloc_tracked(size);
		if (q)
			memcpy(q, p, boot_size(p) < size ? boot_size(p) : size);
		else
			errno = ENOMEM;
		return q;
	}
	old = tracked_size(p, "realloc");
	usable = raw_usable(p, "realloc");
	if (size <= (size_t)PTRDIFF_MAX && size + HAK_REDZONE <= usable) {
		hak_track_resize(p, old, size);
		slot_set(p, usable, size);
		return p;
	}
	q = hak_api_malloc_tracked(size);
	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(q, p, old < size ? old : size);
	hak_api_free_tracked(p);
	return q;
}

/* ---- statistics --------------------------------------------------------- */

HAK_EXPORT void hak_stats_get(struct hak_stats *out)
{
	size_t live, cached;

	hak_large_counts(&live, &cached);
	out->mapped = hak_os_mapped();
	out->mapped_peak = hak_os_mapped_peak();
	out->chunks = hak_ss_chunks();
	out->large_live = live;
	out->large_cached = cached;
	out->heaps = hak_tiny_heaps();
}

void hak_api_stats_print(void)
{
	hak_init();
	hak_dbg_stats_print();
}

/* ---- public hak_* names -------------------------------------------------- */

HAK_EXPORT void *hak_malloc(size_t size)
{
	return alloc_any(size);
}

HAK_EXPORT void hak_free(void *p)
{
	hak_api_free(p);
}

HAK_EXPORT void *hak_calloc(size_t nmemb, size_t size)
{
	return hak_api_calloc(nmemb, size);
}

HAK_EXPORT void *hak_realloc(void *p, size_t size)
{
	return hak_api_realloc(p, size);
}

HAK_EXPORT void *hak_reallocarray(void *p, size_t nmemb, size_t size)
{
	return hak_api_reallocarray(p, nmemb, size);
}

HAK_EXPORT int hak_posix_memalign(void **memptr, size_t align, size_t size)
{
	return hak_api_posix_memalign(memptr, align, size);
}

HAK_EXPORT void *hak_aligned_alloc(size_t align, size_t size)
{
	return hak_api_aligned_alloc(align, size);
}

HAK_EXPORT void *hak_memalign(size_t align, size_t size)
{
	return hak_api_memalign(align, size);
}

HAK_EXPORT size_t hak_usable_size(const void *p)
{
	return hak_api_usable_size(p);
}

HAK_EXPORT int hak_owns(const void *p)
{
	uint8_t kind = hak_reg_kind((uintptr_t)p);

	if (!p)
		return 0;
	if (kind >= SS_MIN_SLAB_SHIFT)
		return hak_tiny_valid(p, kind);
	return hak_large_owns(p);
}

HAK_EXPORT int hak_trim(size_t pad)
{
	size_t n = hak_tiny_trim();

	n += hak_ss_trim();
	n += hak_large_trim();
	return n != 0;
}

HAK_EXPORT void hak_stats_print(void)
{
	hak_api_stats_print();
}
