/* SPDX-License-Identifier: MIT */
/*
 * hak_track.h - how sanitizers and valgrind see hakmem's blocks.  Depends on
 * nothing of ours.  Everything here compiles to nothing unless the flavour
 * sets HAK_ASAN=1 (AddressSanitizer poisoning) or HAK_VALGRIND=1 (memcheck
 * client requests).
 *
 * Two kinds of hooks:
 * - Block hooks (hak_track_alloc/free/resize/noaccess): called at the API
 *   boundary (api.c), the one place that knows the size the user asked for.
 *   A tracked block is addressable for exactly that many bytes; its slack,
 *   the gap before an over-aligned pointer, free blocks and never-used slab
 *   memory are not.
 * - Link accessors (hak_link_get/set): the allocator's own reads and writes
 *   of a free block's first word (free lists, remote queues).  Under ASan
 *   they are not instrumented; under valgrind they open the word for the
 *   access and close it again.  In release they are plain loads/stores.
 */
#ifndef HAK_TRACK_H
#define HAK_TRACK_H

#include <stdbool.h>
#include <stddef.h>

#ifndef HAK_ASAN
#define HAK_ASAN 0
#endif
#ifndef HAK_VALGRIND
#define HAK_VALGRIND 0
#endif
#define HAK_TRACK	(HAK_ASAN || HAK_VALGRIND)

#if HAK_ASAN
#include <sanitizer/asan_interface.h>
/* not instrumented, and so never inlined into instrumented code */
#define HAK_LINK_FN	static __attribute__((no_sanitize_address, noinline, unused))
#else
#define HAK_LINK_FN	static inline
#endif
#if HAK_VALGRIND
#include <valgrind/memcheck.h>
#endif

HAK_LINK_FN void *hak_link_get(const void *blk)
{
	void *v;

#if HAK_VALGRIND
	VALGRIND_MAKE_MEM_DEFINED(blk, sizeof(void *));
#endif
	v = *(void *const *)blk;
#if HAK_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(blk, sizeof(void *));
#endif
	return v;
}

HAK_LINK_FN void hak_link_set(void *blk, const void *next)
{
#if HAK_VALGRIND
	VALGRIND_MAKE_MEM_UNDEFINED(blk, sizeof(void *));
#endif
	*(const void **)blk = next;
#if HAK_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(blk, sizeof(void *));
#endif
}

/* hak_track_alloc - @p now belongs to the user for @size bytes. */
static inline void hak_track_alloc(void *p, size_t size, bool zeroed)
{
#if HAK_ASAN
	__asan_unpoison_memory_region(p, size);
#endif
#if HAK_VALGRIND
	VALGRIND_MALLOCLIKE_BLOCK(p, size, 0, zeroed);
#endif
	(void)p, (void)size, (void)zeroed;
}

/* hak_track_free - the user gave @p (@size bytes) back. */
static inline void hak_track_free(void *p, size_t size)
{
#if HAK_ASAN
	__asan_poison_memory_region(p, size);
#endif
#if HAK_VALGRIND
	VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
	(void)p, (void)size;
}

/* hak_track_resize - a block grew or shrank in place. */
static inline void hak_track_resize(void *p, size_t old_size, size_t new_size)
{
#if HAK_ASAN
	if (new_size > old_size)
		__asan_unpoison_memory_region((char *)p + old_size,
					      new_size - old_size);
	else
		__asan_poison_memory_region((char *)p + new_size,
					    old_size - new_size);
#endif
#if HAK_VALGRIND
	VALGRIND_RESIZEINPLACE_BLOCK(p, old_size, new_size, 0);
#endif
	(void)p, (void)old_size, (void)new_size;
}

/* hak_track_noaccess - nobody may touch [p, p + size) until handed out. */
static inline void hak_track_noaccess(void *p, size_t size)
{
#if HAK_ASAN
	__asan_poison_memory_region(p, size);
#endif
#if HAK_VALGRIND
	VALGRIND_MAKE_MEM_NOACCESS(p, size);
#endif
	(void)p, (void)size;
}

/* hak_track_unmapped - [p, p + size) goes back to the OS: forget its
 * poisoning, or whoever maps that range next inherits it */
static inline void hak_track_unmapped(void *p, size_t size)
{
#if HAK_ASAN
	__asan_unpoison_memory_region(p, size);
#endif
	(void)p, (void)size;
}

#endif /* HAK_TRACK_H */
