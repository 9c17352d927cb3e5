/* SPDX-License-Identifier: MIT */
/*
 * tests/stress/stress.h - what the RSS-bounded stress tests (prodcons,
 * churn, larson_rss, fork_load, trim) share on top of tests/helpers.h:
 * which figures a flavour can assert on, the allocator's own counters, a
 * cheap block pattern that touches every page, and malloc_trim under either
 * naming.
 *
 * RSS: /proc figures describe hakmem's pages only when hakmem is the whole
 * story.  Under TSan (HAK_TEST_API_ONLY: malloc is hak_malloc, and TSan's
 * shadow memory dominates RSS), ASan (shadow, quarantine) and valgrind
 * (the tool's own heap) the tests still print RSS but assert only on
 * hak_stats' mapped bytes, which hakmem counts itself in every flavour.
 */
#ifndef HAK_TESTS_STRESS_H
#define HAK_TESTS_STRESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "hakmem.h"
#include "helpers.h"

#define S_KiB ((size_t)1 << 10)
#define S_MiB ((size_t)1 << 20)

#if defined(HAK_VALGRIND) && HAK_VALGRIND
#define S_VALGRIND 1
#else
#define S_VALGRIND 0
#endif

#if T_ASAN || T_TSAN
#define S_SANITIZER 1
#else
#define S_SANITIZER 0
#endif

#ifdef HAK_TEST_API_ONLY
#define S_API_ONLY 1
#else
#define S_API_ONLY 0
#endif

/* S_RSS_STRICT: VmRSS / VmHWM bounds are asserted (see above). */
#define S_RSS_STRICT (!S_API_ONLY && !S_SANITIZER && !S_VALGRIND)
/* S_SLOW: a flavour 5-50x slower than release; full runs shrink. */
#define S_SLOW (S_SANITIZER || S_VALGRIND)

static inline const char *s_flavour_note(void)
{
	return S_RSS_STRICT ? "" : " [RSS not asserted in this flavour]";
}

/* s_trim - malloc_trim(0), or hak_trim(0) where malloc is not hakmem's. */
static inline int s_trim(void)
{
#if S_API_ONLY
	return hak_trim(0);
#else
	return malloc_trim(0);
#endif
}

static inline struct hak_stats s_stats(void)
{
	struct hak_stats st;

	hak_stats_get(&st);
	return st;
}

/*
 * s_stats_idle - the statistics once the program has been idle long enough
 * to give back its burst (docs/DESIGN.md "Giving memory back": empty
 * chunks past HAKMEM_RETAIN_MB stay mapped for HAKMEM_RETAIN_BURST_MS,
 * 50 ms, then the purger thread unmaps them): polled every 2 ms until
 * mapped <= @limit and then unchanged for 20 ms (the burst's chunks fall
 * due a few at a time), or until S_IDLE_MS have passed.
 */
#define S_IDLE_MS	(S_SLOW ? 5000 : 1000)
static inline struct hak_stats s_stats_idle(size_t limit)
{
	struct hak_stats st = s_stats();
	size_t last = st.mapped;
	int still = 0;

	for (int ms = 0; ms < S_IDLE_MS && still < 20; ms += 2) {
		usleep(2000);
		st = s_stats();
		still = st.mapped <= limit && st.mapped == last ? still + 2 : 0;
		last = st.mapped;
	}
	return st;
}

static inline double s_mib(size_t bytes)
{
	return (double)bytes / (double)S_MiB;
}

static inline double s_kb_mib(long kb)
{
	return (double)kb / 1024.0;
}

/*
 * s_reset_hwm - reset VmHWM to the current RSS (Linux >= 4.0: writing 5 to
 * clear_refs).  Returns false if that is not possible.
 */
static inline bool s_reset_hwm(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok;
}

/* ---- block pattern --------------------------------------------------------
 * Word 0: the block's key; then one word at every 4 KiB boundary (so a
 * filled block is resident) and the last 8 bytes.  Blocks under 16 bytes
 * get all their bytes from the key.  The key should mix the pointer, the size and a
 * per-use sequence, so a block handed out twice fails the older owner's
 * check.
 */
static inline uint64_t s_key(const void *p, size_t size, uint64_t seq)
{
	return t_mix64((uintptr_t)p ^ (size << 40) ^ (seq * 0x9e3779b97f4a7c15ull));
}

static inline void s_fill(void *p, size_t size, uint64_t key)
{
	unsigned char *b = p;
	uint64_t w;

	if (size < 16) {
		for (size_t i = 0; i < size; i++)
			b[i] = (unsigned char)((key >> (8 * (i & 7))) + (i >> 3));
		return;
	}
	/* page words stop short of the tail word: no overlap */
	for (size_t off = 0; off + 16 <= size; off += 4096) {
		w = key + off;
		memcpy(b + off, &w, 8);
	}
	w = ~key;
	memcpy(b + size - 8, &w, 8);
}

/* s_check - offset of the first bad pattern word, or -1 when intact. */
static inline long s_check(const void *p, size_t size, uint64_t key)
{
	const unsigned char *b = p;
	uint64_t w;

	if (size < 16) {
		for (size_t i = 0; i < size; i++)
			if (b[i] != (unsigned char)((key >> (8 * (i & 7))) +
						    (i >> 3)))
				return (long)i;
		return -1;
	}
	for (size_t off = 0; off + 16 <= size; off += 4096) {
		memcpy(&w, b + off, 8);
		if (w != key + off)
			return (long)off;
	}
	memcpy(&w, b + size - 8, 8);
	if (w != ~key)
		return (long)(size - 8);
	return -1;
}

/* s_warm - give the calling thread its heap (a malloc the compiler keeps). */
static inline void s_warm(void)
{
	void *volatile p = malloc(16);

	free(p);
}

/*
 * s_table - @bytes of zeroed, resident memory for a test's own tables,
 * from mmap: not the allocator under test, and resident before a baseline.
 */
static inline void *s_table(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		t_die("mmap of a %zu-byte table failed", bytes);
	memset(p, 0, bytes);
	return p;
}

/* s_usable - malloc_usable_size under the active naming. */
static inline size_t s_usable(void *p)
{
	return hak_usable_size(p);
}

#endif /* HAK_TESTS_STRESS_H */
