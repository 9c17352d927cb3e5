// SPDX-License-Identifier: MIT
/*
 * debug/track.c - the tracked flavours' allocator (asan-preload,
 * valgrind: HAK_TRACK), a layer over tiny/ and large/ that api.c calls
 * instead of its own paths.  Compiled in every flavour, called in the
 * tracked ones only.
 *
 * Every block is allocated HAK_REDZONE bytes larger than asked; the user
 * size is kept in the last word of the block's usable area, so that the
 * slack after the user's bytes is poisoned (an overflow into the next
 * block is caught) and malloc_usable_size() is exact.  A freed block's size
 * word reads FREED_SIZE until the block is handed out again, which catches
 * a double free before it corrupts a list.  realloc moves unless the new
 * size fits in the block.
 */
#include "debug/debug.h"

#include <errno.h>
#include <string.h>

#include "hak_track.h"
#include "large/large.h"
#include "registry/registry.h"
#include "superslab/superslab.h"
#include "tiny/tiny.h"

#define HAK_REDZONE	16
#define FREED_SIZE	((size_t)-1)

/* raw_large - a large block (hak_api_malloc_large() without the tracking) */
static void *raw_large(size_t size, size_t align)
{
	void *p;

	hak_start();
	p = hak_large_alloc(size, align, false);
	if (!p)
		errno = ENOMEM;
	return p;
}

static void *raw_malloc(size_t size)
{
	if (size <= TINY_MAX)
		return hak_tiny_alloc(size);
	return raw_large(size, 0);
}

static size_t raw_usable(const void *p, const char *call)
{
	uint8_t kind = hak_reg_kind((uintptr_t)p);

	if (hak_ss_kind(kind)) {
		if (!hak_tiny_valid(p, hak_ss_kind_shift(kind)))
			hak_fatal("hakmem: %s(): invalid pointer %p", call, p);
		return hak_tiny_usable(p, hak_ss_kind_shift(kind));
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

void *hak_dbg_track_malloc(size_t size)
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

void hak_dbg_track_free(void *p)
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
	if (hak_ss_kind(kind))
		hak_tiny_free(p, hak_ss_kind_shift(kind));
	else
		hak_large_free(p);
}

size_t hak_dbg_track_usable(const void *p)
{
	if (boot_owns(p))
		return boot_size(p);
	return p ? tracked_size((void *)p, "malloc_usable_size") : 0;
}

void *hak_dbg_track_calloc(size_t total)
{
	void *p = hak_dbg_track_malloc(total);

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	memset(p, 0, total);
	return p;
}

void *hak_dbg_track_aligned(size_t align, size_t size)
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
		p = raw_large(size + HAK_REDZONE, align);
	return track_out(p, size, false);
}

void *hak_dbg_track_realloc(void *p, size_t size)
{
	size_t old, usable;
	void *q;

	if (!p) {
		q = hak_dbg_track_malloc(size);
		if (!q)
			errno = ENOMEM;
		return q;
	}
	if (size == 0) {
		hak_dbg_track_free(p);
		return NULL;
	}
	if (boot_owns(p)) {
		q = hak_dbg_track_malloc(size);
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
	q = hak_dbg_track_malloc(size);
	if (!q) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(q, p, old < size ? old : size);
	hak_dbg_track_free(p);
	return q;
}
