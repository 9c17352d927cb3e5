/* SPDX-License-Identifier: MIT */
/*
 * api.h - size dispatch: the hak_* entry points' bodies, shared by api.c
 * (hak_* names) and override.c (libc names) so that both inline the same
 * fast paths.  Above every box; includes their contract headers.
 */
#ifndef HAK_API_H
#define HAK_API_H

#include <errno.h>

#include "debug/debug.h"
#include "hak_internal.h"
#include "hak_track.h"
#include "large/large.h"
#include "registry/registry.h"
#include "superslab/superslab.h"
#include "tiny/tiny.h"

/* api.c */
/* hak_init - idempotent start-up; safe to re-enter from malloc.  The boxes
 * reach it as hak_start (hak_internal.h). */
void hak_init(void);
HAK_SLOW void *hak_api_malloc_large(size_t size);
/* hak_api_malloc_mid - sizes above TINY_SMALL_MAX; sets errno on failure */
HAK_SLOW void *hak_api_malloc_mid(size_t size);
/*
 * hak_api_free_other - free of a pointer that is not a SuperSlab's.
 * @call is unused: without the second argument GCC allocates free()'s
 * registers differently and the local-free fast path grows by a mov.
 */
HAK_SLOW void hak_api_free_other(void *p, const char *call);
void *hak_api_calloc(size_t nmemb, size_t size);
void *hak_api_realloc(void *p, size_t size);
void *hak_api_reallocarray(void *p, size_t nmemb, size_t size);
void *hak_api_aligned(size_t align, size_t size);
int hak_api_posix_memalign(void **memptr, size_t align, size_t size);
void *hak_api_memalign(size_t align, size_t size);
void *hak_api_aligned_alloc(size_t align, size_t size);
void *hak_api_valloc(size_t size);
void *hak_api_pvalloc(size_t size);
size_t hak_api_usable_size(const void *p);
void hak_api_stats_print(void);
void hak_api_fork_prepare(void);
void hak_api_fork_parent(void);
void hak_api_fork_child(void);

/* usage.c: mallinfo2's figures */
struct mallinfo2;
void hak_api_mallinfo2(struct mallinfo2 *mi);

/* fork.c: the pthread_atfork handlers */
void hak_fork_prepare(void);
void hak_fork_parent(void);
void hak_fork_child(void);

/*
 * hak_api_malloc - malloc: the tiny fast path for small sizes, else one
 * call.  Sets errno itself when it fails (in the slow paths), so the fast
 * path is a leaf that tail-calls its refill.
 */
HAK_FAST void *hak_api_malloc(size_t size)
{
	if (HAK_TRACK)
		return hak_dbg_track_malloc(size);
	if (hak_likely(size <= TINY_SMALL_MAX))
		return hak_tiny_alloc_small(size);
	return hak_api_malloc_mid(size);
}

/* hak_api_free - free: a registry byte, then the tiny fast path. */
HAK_FAST void hak_api_free(void *p)
{
	uint8_t kind;

	if (HAK_TRACK) {
		hak_dbg_track_free(p);
		return;
	}
	kind = hak_reg_kind((uintptr_t)p);
	if (hak_likely(hak_ss_kind(kind))) {
		hak_tiny_free(p, hak_ss_kind_shift(kind));
		return;
	}
	hak_api_free_other(p, "free");
}

#endif /* HAK_API_H */
