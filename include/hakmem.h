/* SPDX-License-Identifier: MIT */
/*
 * hakmem.h - the public API of the hakmem allocator.
 *
 * hakmem also defines the whole libc malloc family (malloc, free, ...) and
 * the C++ new/delete operators, so most programs never include this header:
 * they link libhakmem or run under LD_PRELOAD=libhakmem.so.  The hak_*
 * entry points below are the same allocator under names that never clash
 * with libc, for programs (and sanitizer builds) that must not replace
 * malloc itself.  This header depends only on the C standard library and
 * its layout is the same in every build flavour.
 */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * hak_version - the library's version, "MAJOR.MINOR.PATCH" (the soname is
 * libhakmem.so.MAJOR); `pkg-config --modversion hakmem` says the same.
 */
const char *hak_version(void);

void *hak_malloc(size_t size);
void hak_free(void *ptr);
void *hak_calloc(size_t nmemb, size_t size);
void *hak_realloc(void *ptr, size_t size);
void *hak_reallocarray(void *ptr, size_t nmemb, size_t size);
int hak_posix_memalign(void **memptr, size_t alignment, size_t size);
void *hak_aligned_alloc(size_t alignment, size_t size);
void *hak_memalign(size_t alignment, size_t size);
size_t hak_usable_size(const void *ptr);

/*
 * hak_owns - 1 if @ptr lies in memory hakmem currently manages (a live
 * SuperSlab or large mapping), else 0.  Never dereferences a pointer that is
 * not hakmem's.  Tests and benchmarks use it to prove hakmem served a block.
 */
int hak_owns(const void *ptr);

/* hak_trim - return cached free memory to the OS; 1 if any was returned. */
int hak_trim(size_t pad);

/* Totals since start-up, all in bytes except the counts. */
struct hak_stats {
	size_t mapped;		/* bytes currently mapped from the OS */
	size_t mapped_peak;	/* high-water mark of mapped */
	size_t chunks;		/* SuperSlabs currently mapped */
	size_t large_live;	/* large (own-mapping) blocks currently live */
	size_t large_cached;	/* large mappings kept for reuse */
	size_t heaps;		/* thread heaps ever created */
};

void hak_stats_get(struct hak_stats *out);
/* hak_stats_print - one-line summary on stderr (what HAKMEM_STATS=1 prints at exit) */
void hak_stats_print(void);

/*
 * hak_profile_dump - with HAKMEM_PROFILE=FILE set, write the heap profile
 * (live sampled blocks by call stack) to FILE now, as at exit; 0 on
 * success, -1 if profiling is off or FILE cannot be written.
 */
int hak_profile_dump(void);

#ifdef __cplusplus
}
#endif

#endif /* HAKMEM_H */
