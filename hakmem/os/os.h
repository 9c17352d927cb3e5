/* SPDX-License-Identifier: MIT */
/*
 * os/os.h - the operating-system contract.  The only box that makes system
 * calls (mmap, munmap, madvise, mremap, write), reads the environment and
 * owns the thread-exit hook.  Depends on nothing of ours.
 *
 * Conventions: mapping functions return NULL on failure and never set errno
 * for the caller to rely on; actions return 0 or -errno.
 */
#ifndef HAK_OS_H
#define HAK_OS_H

#include "hak_internal.h"

#define HAK_PAGE_SIZE	4096UL

/* os/os.c */
/* hak_os_map - fresh zeroed read/write anonymous memory, page multiple. */
void *hak_os_map(size_t size);
/*
 * hak_os_map_aligned - @size bytes at an address A with (A + @off) a
 * multiple of @align (a power of two >= page).  Maps more and trims; never
 * MAP_POPULATE.
 */
void *hak_os_map_aligned(size_t size, size_t align, size_t off);
int hak_os_unmap(void *p, size_t size);
/* hak_os_decommit - give the pages back, keep the range mapped (reads 0). */
int hak_os_decommit(void *p, size_t size);
/* hak_os_resize - grow or shrink a mapping in place; 0 or -errno. */
int hak_os_resize(void *p, size_t old_size, size_t new_size);
/* hak_os_move - move a mapping onto @dst (which it replaces); 0 or -errno. */
int hak_os_move(void *p, size_t old_size, size_t new_size, void *dst);
/* hak_os_next_env - iterate raw "NAME=value" strings; *cursor starts at 0. */
const char *hak_os_next_env(size_t *cursor);
/* hak_os_write_err - write(2) to stderr, retrying on EINTR/short writes. */
void hak_os_write_err(const char *buf, size_t len);
/* hak_os_now_ms - a monotonic clock in milliseconds (coarse, vDSO). */
uint64_t hak_os_now_ms(void);
/* hak_os_rss_kb - current resident set (kB) from /proc, -1 if unknown. */
long hak_os_rss_kb(void);
/* Bytes mapped through this box now, and the high-water mark. */
size_t hak_os_mapped(void);
size_t hak_os_mapped_peak(void);
/* hak_os_thread_tid - kernel thread id, for diagnostics. */
long hak_os_thread_tid(void);

/*
 * The thread-exit hook: @fn(arg) runs when a thread that armed the hook
 * exits (a pthread key destructor).  hak_os_thread_hook_init is called
 * once at start-up; hak_os_thread_arm once per thread.
 */
int hak_os_thread_hook_init(void (*fn)(void *));
void hak_os_thread_arm(void *arg);

#endif /* HAK_OS_H */
