// SPDX-License-Identifier: MIT
/*
 * tests/api/mremap_fail.c - realloc of large blocks keeps every byte when
 * mremap fails: the move and the copy fallback of large/large.c's realloc,
 * which no other test reaches (mremap does not fail on its own).
 *
 * Usage: mremap_fail.t [--smoke]   (--smoke, and under TSan: pages k of
 * 33, 64 and 256 only)
 *
 * Fault injection: this program defines mremap() itself.  libhakmem.a is
 * linked into it, so the library's call (os/os.c) binds to this definition
 * at link time; it fails on demand with ENOMEM and otherwise makes the
 * system call.  Three modes:
 *   none     every mremap works: grow in place, shrink in place;
 *   inplace  in-place resizes (flags 0) fail: a grow moves the pages to a
 *            fresh range (MREMAP_FIXED), a shrink keeps the mapping;
 *   all      every mremap fails: a grow copies into a new block (the last
 *            resort), a shrink keeps the mapping.
 *
 * In every mode, for every pair of sizes (old, new) of large blocks (pages
 * k of 33 to 1024: 132 KiB .. 4 MiB), grow and shrink: fill all old bytes
 * with a position-dependent pattern, realloc, and check every one of the
 * min(old, new) bytes that must survive (word by word, then the tail byte
 * by byte) and that the usable size holds the new size.  The sizes
 * straddle page boundaries: k pages minus the 64-byte header exactly (the
 * block's last byte is its mapping's last byte: a copy one byte short
 * loses a byte the user wrote), one byte more (a new page for one byte),
 * one byte less.
 *
 * Asserted besides the bytes: the injection took (in the "all" mode every
 * grow saw a failed move, so it can only have succeeded by copying; in
 * "none" mremap was called at all), except in asan-preload and valgrind,
 * whose realloc moves every block through malloc and memcpy (hakmem's
 * tracked path) and never calls mremap: there only the bytes are checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hakmem.h"
#include "helpers.h"

#if (defined(HAK_ASAN) && HAK_ASAN) || (defined(HAK_VALGRIND) && HAK_VALGRIND)
#define TRACKED 1	/* realloc never calls mremap in this flavour */
#else
#define TRACKED 0
#endif

#ifdef HAK_TEST_API_ONLY
#define TRIM()		hak_trim(0)
#else
#define TRIM()		malloc_trim(0)
#endif

#define PAGE		4096UL
#define LARGE_OFF	64UL	/* large/large.c's header: user pointer - map */

enum mode { M_NONE, M_INPLACE, M_ALL, M_COUNT };
static const char *const mode_name[M_COUNT] = { "none", "inplace", "all" };

static _Atomic int fail_mode = M_NONE;
static _Atomic unsigned long calls, failed_inplace, failed_moves;

/*
 * mremap - the library's, through this program's symbol: fail when the
 * mode says so, else the real system call (glibc's wrapper would be
 * this function again).
 */
void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
	void *dst = NULL;
	int mode = atomic_load_explicit(&fail_mode, memory_order_relaxed);

	if (flags & MREMAP_FIXED) {
		va_list ap;

		va_start(ap, flags);
		dst = va_arg(ap, void *);
		va_end(ap);
	}
	atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	if (mode == M_ALL || (mode == M_INPLACE && !(flags & MREMAP_MAYMOVE))) {
		atomic_fetch_add_explicit(flags & MREMAP_MAYMOVE ?
					  &failed_moves : &failed_inplace, 1,
					  memory_order_relaxed);
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return (void *)syscall(SYS_mremap, old, old_size, new_size, flags,
			       dst);
}

/* word @i of the pattern of @seed: differs at every position and seed */
static uint64_t pat_word(uint64_t seed, size_t i)
{
	return seed * 0x9e3779b97f4a7c15ull + i * 0x2545f4914f6cdd1dull + 1;
}

static uint8_t pat_byte(uint64_t seed, size_t off)
{
	return (uint8_t)(pat_word(seed, off / 8) >> (8 * (off % 8)));
}

/* fill - the first @n bytes of @p (16-aligned) with pattern @seed */
static void fill(void *p, size_t n, uint64_t seed)
{
	uint64_t *w = p;
	size_t words = n / 8;

	for (size_t i = 0; i < words; i++)
		w[i] = pat_word(seed, i);
	for (size_t off = words * 8; off < n; off++)
		((uint8_t *)p)[off] = pat_byte(seed, off);
}

/* bad_byte - offset of the first of @n bytes off pattern @seed, or -1 */
static long bad_byte(const void *p, size_t n, uint64_t seed)
{
	const uint64_t *w = p;
	size_t words = n / 8, off;

	for (size_t i = 0; i < words; i++)
		if (w[i] != pat_word(seed, i)) {
			for (off = i * 8; off < i * 8 + 8; off++)
				if (((const uint8_t *)p)[off] !=
				    pat_byte(seed, off))
					return (long)off;
		}
	for (off = words * 8; off < n; off++)
		if (((const uint8_t *)p)[off] != pat_byte(seed, off))
			return (long)off;
	return -1;
}

/* one realloc from @from to @to bytes under @mode; its bytes checked */
static void one(enum mode mode, size_t from, size_t to, uint64_t seed)
{
	size_t keep = from < to ? from : to, usable;
	unsigned long moves0;
	void *p, *q;
	long bad;

	/* empty the BigCache: a fresh mapping, not a bigger cached one, so
	 * that the block's last byte is its mapping's last byte */
	TRIM();
	p = malloc(from);
	if (!CHECK(p, "malloc(%zu) failed", from))
		return;
	usable = malloc_usable_size(p);
	if (!TRACKED)
		CHECK(usable == (from + LARGE_OFF + PAGE - 1) / PAGE * PAGE -
		      LARGE_OFF, "malloc(%zu): usable %zu, not the rest of its pages after a %lu-byte header: this test's sizes no longer straddle page boundaries",
		      from, usable, LARGE_OFF);
	fill(p, from, seed);
	moves0 = atomic_load(&failed_moves);
	atomic_store(&fail_mode, mode);
	errno = 0;
	q = realloc(p, to);
	atomic_store(&fail_mode, M_NONE);
	if (!CHECK(q, "mode %s: realloc(%p, %zu -> %zu) = NULL, errno %d",
		   mode_name[mode], p, from, to, errno)) {
		free(p);
		return;
	}
	bad = bad_byte(q, keep, seed);
	CHECK(bad < 0, "mode %s: realloc(%zu -> %zu) %s: byte %ld of %zu lost (%#x, want %#x)",
	      mode_name[mode], from, to, q == p ? "in place" : "moved", bad,
	      keep, bad < 0 ? 0 : ((uint8_t *)q)[bad],
	      bad < 0 ? 0 : pat_byte(seed, (size_t)bad));
	CHECK(malloc_usable_size(q) >= to,
	      "mode %s: realloc(%zu -> %zu): usable %zu", mode_name[mode],
	      from, to, malloc_usable_size(q));
	CHECK(hak_owns(q) == 1, "mode %s: realloc(%zu -> %zu) = %p not hakmem's",
	      mode_name[mode], from, to, q);
	if (!TRACKED && mode == M_ALL && to > usable)
		CHECK(atomic_load(&failed_moves) > moves0 && q != p,
		      "mode all: realloc(%zu -> %zu) did not try to move (failed moves %lu -> %lu): the copy fallback was not reached",
		      from, to, moves0, atomic_load(&failed_moves));
	/* the new bytes are the user's too */
	if (to > from)
		memset((char *)q + from, 0xa5, to - from);
	free(q);
}

int main(int argc, char **argv)
{
	/* TSan adds nothing to one thread's byte loops but slowness */
	bool smoke = t_smoke(argc, argv) || T_TSAN;
	static const size_t full_pages[] = { 33, 34, 64, 255, 256, 1024 };
	static const size_t smoke_pages[] = { 33, 64, 256 };
	const size_t *pages = smoke ? smoke_pages : full_pages;
	size_t npages = smoke ? 3 : sizeof(full_pages) / sizeof(full_pages[0]);
	size_t sizes[3 * 8], n = 0;
	unsigned long pairs = 0;

	for (size_t i = 0; i < npages; i++) {
		size_t exact = pages[i] * PAGE - LARGE_OFF;

		sizes[n++] = exact - 1;
		sizes[n++] = exact;
		sizes[n++] = exact + 1;
	}
	for (int m = 0; m < M_COUNT; m++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++) {
				if (i == j)
					continue;
				one((enum mode)m, sizes[i], sizes[j],
				    (uint64_t)(m * 1000 + i * 32 + j));
				pairs++;
			}
	if (!TRACKED) {
		CHECK(calls > 0, "mremap() was never called: the library no longer reaches this program's mremap, so nothing was injected");
		CHECK(failed_moves > 0 && failed_inplace > 0,
		      "injected %lu failed moves, %lu failed in-place resizes: a mode never reached its path",
		      failed_moves, failed_inplace);
	}
	printf("mremap_fail: %lu reallocs of %zu sizes (%zu .. %zu B) in %d modes, every kept byte checked; mremap called %lu times, %lu in-place and %lu moves failed on purpose%s\n",
	       pairs, n, sizes[0], sizes[n - 1], M_COUNT, calls,
	       failed_inplace, failed_moves,
	       TRACKED ? " [tracked flavour: realloc copies without mremap]" :
	       "");
	return t_result();
}
