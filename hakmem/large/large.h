/* SPDX-License-Identifier: MIT */
/*
 * large/large.h - blocks above TINY_MAX (and over-aligned ones), each in a
 * mapping of its own with a header at the mapping's start.  May depend on
 * os/ and registry/.
 *
 * Geometry: the mapping starts at a 2 MiB boundary S (registered as
 * HAK_REG_LARGE); the user pointer is p = S + off with 0 < off <= 2 MiB, so
 * the header is always at (p - 1) & ~(2 MiB - 1).  Any power-of-two
 * alignment works: off = 2 MiB when the alignment exceeds it.
 *
 * Freed mappings go to a bounded cache (BigCache) and are reused by a later
 * allocation of a close size; realloc grows in place with mremap when the
 * kernel can, else moves the pages (no copy).  One mutex guards the cache.
 */
#ifndef HAK_LARGE_H
#define HAK_LARGE_H

#include "hak_internal.h"
#include "registry/registry.h"

/* large/large.c */
void *hak_large_alloc(size_t size, size_t align, bool zero);
void hak_large_free(void *p);
void *hak_large_realloc(void *p, size_t size);
size_t hak_large_usable(const void *p);
/* hak_large_owns - p is the user pointer of a live large block. */
bool hak_large_owns(const void *p);
size_t hak_large_trim(void);
/* hak_large_config - cached mappings older than @cache_ms are unmapped
 * (HAKMEM_LARGE_CACHE_MS; 0: no caching) */
void hak_large_config(long cache_ms);
void hak_large_counts(size_t *live, size_t *cached);
/* hak_large_bytes - bytes mapped for live blocks, and for cached mappings */
void hak_large_bytes(size_t *live, size_t *cached);
void hak_large_fork_prepare(void);
void hak_large_fork_parent(void);
void hak_large_fork_child(void);

#endif /* HAK_LARGE_H */
