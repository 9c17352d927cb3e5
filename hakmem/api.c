// SPDX-License-Identifier: MIT
/*
 * api.c - the hak_* entry points: size dispatch, glibc edge semantics,
 * start-up (and its lock around fork), statistics.  errno is set at the
 * public boundary: here, in override.c (which shares these bodies), in
 * tiny's allocation slow path (tiny/refill.c, so that malloc's fast path
 * stays a leaf) and in the tracked flavours' allocator (debug/track.c).
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
		hak_lock_counting = hak_opt(HAK_OPT_STATS) != 0;
		hak_trace_init(hak_opt(HAK_OPT_TRACE_RING) != 0);
		hak_prof_init(hak_opt_str(HAK_OPT_PROFILE),
			      hak_opt(HAK_OPT_PROFILE_INTERVAL));
		hak_large_config(hak_opt(HAK_OPT_LARGE_CACHE_MS));
		hak_ss_config((size_t)hak_opt(HAK_OPT_RETAIN_MB) << 20,
			      (size_t)hak_opt(HAK_OPT_RETAIN_BURST_MB) << 20,
			      hak_opt(HAK_OPT_RETAIN_BURST_MS),
			      hak_opt(HAK_OPT_DECAY_MS));
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

void (*const hak_start)(void) = hak_init;

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
		return hak_dbg_track_calloc(total);
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

size_t hak_api_usable_size(const void *p)
{
	uint8_t kind = hak_reg_kind((uintptr_t)p);

	if (HAK_TRACK)
		return hak_dbg_track_usable(p);

	if (!p)
		return 0;
	if (hak_ss_kind(kind)) {
		if (!hak_tiny_valid(p, hak_ss_kind_shift(kind)))
			hak_fatal("hakmem: malloc_usable_size(): invalid "
				  "pointer %p", p);
		hak_tiny_check_live((void *)p, hak_ss_kind_shift(kind), "malloc_usable_size");
		return hak_tiny_usable(p, hak_ss_kind_shift(kind));
	}
	return hak_large_usable(p);
}

void *hak_api_realloc(void *p, size_t size)
{
	uint8_t kind;
	size_t usable;
	void *q;

	if (HAK_TRACK)
		return hak_dbg_track_realloc(p, size);
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
	if (hak_ss_kind(kind)) {
		if (!hak_tiny_valid(p, hak_ss_kind_shift(kind)))
			hak_fatal("hakmem: realloc(): invalid pointer %p", p);
		hak_tiny_check_live(p, hak_ss_kind_shift(kind), "realloc");
		usable = hak_tiny_usable(p, hak_ss_kind_shift(kind));
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

/* hak_api_aligned - @align is a power of two. */
void *hak_api_aligned(size_t align, size_t size)
{
	void *p = NULL;

	if (HAK_TRACK)
		return hak_dbg_track_aligned(align, size);
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
	if (hak_ss_kind(kind))
		return hak_tiny_valid(p, hak_ss_kind_shift(kind));
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
