// SPDX-License-Identifier: MIT
/*
 * tests/api/api.c - conformance of the malloc family, twice over: through
 * the libc names (linked statically against libhakmem.a, so plain malloc
 * IS hakmem's) and through the hak_* names.
 *
 * The semantics asserted are glibc's (DESIGN.md "The libc boundary"):
 * malloc(0) unique and non-NULL; 16-byte alignment; usable size >= request
 * and all of it writable; calloc zeroes recycled memory; size and count
 * overflow -> NULL + ENOMEM; realloc(p, 0) frees and returns NULL;
 * posix_memalign bad alignment -> EINVAL with *memptr untouched.  Every
 * block must satisfy hak_owns(p) == 1, which proves hakmem served it
 * (and hak_owns is itself checked to say 0 for memory that is not its).
 *
 * Usage: api.t [--smoke]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hakmem.h"
#include "helpers.h"

/*
 * Set (to 1) where only the hak_* names are hakmem's (tsan, through
 * tests/hak_api_names.h): the libc names below are hak_* too, and the
 * libc-only valloc/pvalloc are the sanitizer's, so they are not tested.
 */
#ifndef HAK_TEST_API_ONLY
#define HAK_TEST_API_ONLY 0
#endif

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static bool smoke;
static size_t page_size;

/* ---- the two front doors ------------------------------------------------ */

struct api {
	const char *name;
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*reallocarray)(void *, size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	size_t (*usable)(void *);
};

static size_t libc_usable(void *p)
{
	return malloc_usable_size(p);
}

static size_t hak_usable(void *p)
{
	return hak_usable_size(p);
}

static struct api libc_api = {
	"libc", malloc, free, calloc, realloc, reallocarray,
	posix_memalign, aligned_alloc, memalign, libc_usable,
};

static struct api hak_api = {
	"hak", hak_malloc, hak_free, hak_calloc, hak_realloc,
	hak_reallocarray, hak_posix_memalign, hak_aligned_alloc,
	hak_memalign, hak_usable,
};

/*
 * Hide a value from the optimiser, so that it cannot see malloc through the
 * function pointers (and drop malloc/free pairs or fold huge requests).
 */
#define launder(x)                                                          \
	({                                                                  \
		__auto_type v_ = (x);                                       \
		__asm__ volatile("" : "+r"(v_));                            \
		v_;                                                         \
	})
#define barrier() __asm__ volatile("" ::: "memory")

/* ---- patterns ------------------------------------------------------------ */

/*
 * The pattern for @seed: 64-bit word k is (seed + k) * golden, stored
 * little-endian, so byte i depends on its position and shifts show.
 */
static inline uint64_t pat_word(uint64_t seed, size_t k)
{
	return (seed + k) * 0x9e3779b97f4a7c15ull;
}

/* shift of byte i of a word stored with memcpy(), so bytes and words agree */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTE_SHIFT(i) (56 - 8 * ((i) & 7))
#else
#define BYTE_SHIFT(i) (8 * ((i) & 7))
#endif

static inline uint8_t pat_byte(uint64_t seed, size_t i)
{
	return (uint8_t)(pat_word(seed, i >> 3) >> BYTE_SHIFT(i));
}

static void pat_fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w = pat_word(seed, i >> 3);

		memcpy(b + i, &w, 8);
	}
	for (; i < n; i++)
		b[i] = pat_byte(seed, i);
	barrier();
}

/* pat_find_bad - offset of the first byte off the pattern, or SIZE_MAX. */
static size_t pat_find_bad(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	size_t i = 0;

	barrier();
	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, b + i, 8);
		if (t_unlikely(w != pat_word(seed, i >> 3)))
			break;
	}
	for (; i < n; i++)
		if (t_unlikely(b[i] != pat_byte(seed, i)))
			return i;
	return SIZE_MAX;
}

/* Report a pattern mismatch; 1 if the block is intact. */
static int pat_check(const char *what, const void *p, size_t n, uint64_t seed)
{
	size_t bad = pat_find_bad(p, n, seed);

	return CHECK(bad == SIZE_MAX,
		     "%s: block %p size %zu: byte %zu is 0x%02x, expected 0x%02x",
		     what, p, n, bad, bad == SIZE_MAX ? 0 : ((const uint8_t *)p)[bad],
		     bad == SIZE_MAX ? 0 : pat_byte(seed, bad));
}

/* byte_find_not - offset of the first byte of p[0..n) that is not @c. */
static size_t byte_find_not(const void *p, size_t n, uint8_t c)
{
	const uint8_t *b = p;

	barrier();
	for (size_t i = 0; i < n; i++)
		if (t_unlikely(b[i] != c))
			return i;
	return SIZE_MAX;
}

/*
 * check_block - the checks every successful allocation gets: owned by
 * hakmem, @align-aligned, usable >= @size (and stable), and the whole usable
 * size writable and readable back.  Leaves the block filled with the
 * pattern for @seed over its first @size bytes.  Returns the usable size.
 */
static size_t check_block(const struct api *a, const char *what, void *p,
			  size_t size, size_t align, uint64_t seed)
{
	size_t us, bad;

	if (!CHECK(p != NULL, "%s: %s(%zu) returned NULL", a->name, what, size))
		return 0;
	CHECK(hak_owns(p) == 1, "%s: %s(%zu) = %p not owned by hakmem",
	      a->name, what, size, p);
	CHECK(((uintptr_t)p & (align - 1)) == 0,
	      "%s: %s(%zu) = %p not %zu-aligned", a->name, what, size, p, align);
	us = a->usable(p);
	CHECK(us >= size, "%s: %s(%zu): usable size %zu < request",
	      a->name, what, size, us);
	CHECK(a->usable(p) == us, "%s: %s(%zu): usable size not stable",
	      a->name, what, size);
	if (us < size)
		us = size;	/* still try to write what was asked for */
	memset(p, 0x5c, us);
	bad = byte_find_not(p, us, 0x5c);
	CHECK(bad == SIZE_MAX, "%s: %s(%zu) usable %zu: byte %zu did not read back",
	      a->name, what, size, us, bad);
	pat_fill(p, size, seed);
	return us;
}

static void set_errno_zero(void)
{
	errno = 0;
}

/* ---- malloc(0), foreign pointers ----------------------------------------- */

static void test_zero(const struct api *a)
{
	enum { N = 64 };
	void *p[N];

	for (int i = 0; i < N; i++) {
		p[i] = a->malloc(launder((size_t)0));
		check_block(a, "malloc", p[i], 0, 16, 0);
		for (int j = 0; j < i; j++)
			CHECK(p[i] != p[j] || !p[i],
			      "%s: malloc(0) returned %p twice", a->name, p[i]);
	}
	for (int i = 0; i < N; i++)
		a->free(p[i]);

	p[0] = a->realloc(NULL, launder((size_t)0));
	check_block(a, "realloc(NULL, 0)", p[0], 0, 16, 0);
	p[1] = a->calloc(0, launder((size_t)0));
	check_block(a, "calloc(0, 0)", p[1], 0, 16, 0);
	p[2] = a->calloc(launder((size_t)0), 100);
	check_block(a, "calloc(0, 100)", p[2], 0, 16, 0);
	p[3] = a->calloc(100, launder((size_t)0));
	check_block(a, "calloc(100, 0)", p[3], 0, 16, 0);
	CHECK(p[0] != p[1] && p[1] != p[2] && p[2] != p[3] && p[0] != p[3],
	      "%s: zero-size blocks not unique", a->name);
	for (int i = 0; i < 4; i++)
		a->free(p[i]);

	a->free(NULL);
	CHECK(a->usable(NULL) == 0, "%s: usable_size(NULL) = %zu", a->name,
	      a->usable(NULL));
}

static int global_object;

static void test_owns_foreign(void)
{
	int local = 0;
	void *m;

	CHECK(hak_owns(NULL) == 0, "hak_owns(NULL) != 0");
	CHECK(hak_owns(&local) == 0, "hak_owns(stack %p) != 0", (void *)&local);
	CHECK(hak_owns(&global_object) == 0, "hak_owns(.bss %p) != 0",
	      (void *)&global_object);
	CHECK(hak_owns("literal") == 0, "hak_owns(.rodata) != 0");
	m = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m != MAP_FAILED) {
		CHECK(hak_owns(m) == 0, "hak_owns(own mmap %p) != 0", m);
		CHECK(hak_owns((char *)m + page_size) == 0,
		      "hak_owns(own mmap + page) != 0");
		munmap(m, 4 * page_size);
	}
}

/* ---- every size ----------------------------------------------------------- */

/*
 * malloc every size 0..4096, then 2^k * {1, 5/4, 3/2, 7/4} and one byte
 * either side, up to 8 MiB.  The last RING blocks stay live and are verified when they
 * leave, so overlapping blocks show as pattern damage.
 */
static void test_sizes(const struct api *a)
{
	enum { RING = 16 };
	void *ring[RING] = { 0 };
	size_t ring_size[RING] = { 0 };
	uint64_t ring_seed[RING] = { 0 };
	size_t sizes[4096 + 1 + 3 * 4 * 12], nsizes = 0;
	unsigned int slot = 0;

	for (size_t n = 0; n <= 4096; n++)
		sizes[nsizes++] = n;
	/* 2^k * {1, 5/4, 3/2, 7/4} and +-1: every size-class edge above 4K */
	for (int k = 12; k <= 23; k++) {
		for (size_t q = 4; q < 8; q++) {
			size_t n = ((size_t)1 << k) / 4 * q;

			if (n > 8 * MiB)
				break;
			if (n - 1 > 4096)
				sizes[nsizes++] = n - 1;
			sizes[nsizes++] = n;
			if (n < 8 * MiB)
				sizes[nsizes++] = n + 1;
		}
	}

	for (size_t i = 0; i < nsizes; i++) {
		size_t n = sizes[i];
		void *p;

		slot = (slot + 1) % RING;
		if (ring[slot]) {
			pat_check("sizes: live block", ring[slot],
				  ring_size[slot], ring_seed[slot]);
			a->free(ring[slot]);
			ring[slot] = NULL;
		}
		p = a->malloc(launder(n));
		check_block(a, "malloc", p, n, 16, i);
		ring[slot] = p;
		ring_size[slot] = n;
		ring_seed[slot] = i;
	}
	for (int s = 0; s < RING; s++) {
		if (!ring[s])
			continue;
		pat_check("sizes: live block", ring[s], ring_size[s],
			  ring_seed[s]);
		a->free(ring[s]);
	}
}

/* ---- calloc ---------------------------------------------------------------- */

/*
 * Dirty a batch of blocks, free it, and calloc the same size again, many
 * times: recycled memory must come back zeroed.  calloc'd blocks are dirtied
 * before they are freed, so every round recycles dirty memory.
 */
static void test_calloc(const struct api *a)
{
	static const size_t sizes[] = {
		1, 8, 15, 16, 24, 100, 256, 1000, 1024, 4096, 5000, 32768,
		65536, 300000, 1 * MiB, 5 * MiB + 3,
	};
	enum { BATCH = 32 };
	void *p[BATCH];

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		int batch = n >= 65536 ? 4 : BATCH;
		int rounds = smoke ? 4 : (n >= 65536 ? 10 : 100);

		for (int b = 0; b < batch; b++) {
			p[b] = a->malloc(launder(n));
			if (!CHECK(p[b], "%s: malloc(%zu) NULL", a->name, n))
				return;
			memset(p[b], 0xaa, a->usable(p[b]));
		}
		for (int b = 0; b < batch; b++)
			a->free(p[b]);

		for (int r = 0; r < rounds; r++) {
			for (int b = 0; b < batch; b++) {
				size_t bad;

				/* vary the shape: (1, n), (n, 1) */
				p[b] = (b & 1) ? a->calloc(n, launder((size_t)1))
					       : a->calloc(launder((size_t)1), n);
				if (!CHECK(p[b], "%s: calloc(%zu) NULL", a->name, n))
					return;
				bad = byte_find_not(p[b], n, 0);
				CHECK(bad == SIZE_MAX,
				      "%s: calloc(%zu) round %d: byte %zu = 0x%02x, not zero",
				      a->name, n, r, bad,
				      bad == SIZE_MAX ? 0 : ((uint8_t *)p[b])[bad]);
				check_block(a, "calloc", p[b], n, 16, 0);
				memset(p[b], 0xaa, a->usable(p[b]));
			}
			for (int b = 0; b < batch; b++)
				a->free(p[b]);
		}
	}

	/* a product of two counts, recycled small blocks */
	for (int r = 0; r < (smoke ? 10 : 1000); r++) {
		size_t nm = 1 + (size_t)r % 37, sz = 8 + (size_t)r % 29, bad;
		void *q = a->malloc(nm * sz);

		if (q) {
			memset(q, 0xaa, a->usable(q));
			a->free(q);
		}
		q = a->calloc(launder(nm), sz);
		if (!CHECK(q, "%s: calloc(%zu, %zu) NULL", a->name, nm, sz))
			return;
		bad = byte_find_not(q, nm * sz, 0);
		CHECK(bad == SIZE_MAX, "%s: calloc(%zu, %zu): byte %zu not zero",
		      a->name, nm, sz, bad);
		check_block(a, "calloc", q, nm * sz, 16, 0);
		a->free(q);
	}
}

/* ---- overflow and impossible sizes ------------------------------------------ */

#define CHECK_ENOMEM(a, call, ret)                                           \
	do {                                                                 \
		set_errno_zero();                                            \
		void *r_ = (ret);                                            \
		int e_ = errno;                                              \
		CHECK(r_ == NULL && e_ == ENOMEM,                            \
		      "%s: %s = %p, errno %d (want NULL, ENOMEM)", (a)->name, \
		      call, r_, e_);                                         \
		if (r_)                                                      \
			(a)->free(r_);                                       \
	} while (0)

static void test_overflow(const struct api *a)
{
	static const size_t huge[] = {
		SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 4095,
		SIZE_MAX - 2 * MiB, (size_t)PTRDIFF_MAX + 1, PTRDIFF_MAX,
		(size_t)PTRDIFF_MAX - 4095, (size_t)1 << 48,
	};
	char what[96];
	void *keep, *p;
	size_t keep_n = 1000;
	int rc;

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		size_t n = launder(huge[i]);

		snprintf(what, sizeof(what), "malloc(%#zx)", n);
		CHECK_ENOMEM(a, what, a->malloc(n));
		snprintf(what, sizeof(what), "realloc(NULL, %#zx)", n);
		CHECK_ENOMEM(a, what, a->realloc(NULL, n));
		snprintf(what, sizeof(what), "calloc(1, %#zx)", n);
		CHECK_ENOMEM(a, what, a->calloc(1, n));
		snprintf(what, sizeof(what), "aligned_alloc(64, %#zx)", n);
		CHECK_ENOMEM(a, what, a->aligned_alloc(64, n));
		snprintf(what, sizeof(what), "memalign(4096, %#zx)", n);
		CHECK_ENOMEM(a, what, a->memalign(4096, n));
		snprintf(what, sizeof(what), "memalign(2 MiB, %#zx)", n);
		CHECK_ENOMEM(a, what, a->memalign(2 * MiB, n));

		p = (void *)0x1234;
		rc = a->posix_memalign(&p, 64, n);
		CHECK(rc == ENOMEM && p == (void *)0x1234,
		      "%s: posix_memalign(64, %#zx) = %d, *memptr %p", a->name,
		      n, rc, p);
		if (rc == 0)
			a->free(p);
	}

	/* calloc: the product overflows, or exceeds PTRDIFF_MAX */
	CHECK_ENOMEM(a, "calloc(SIZE_MAX/2+1, 2)",
		     a->calloc(launder(SIZE_MAX / 2 + 1), 2));
	CHECK_ENOMEM(a, "calloc(2, SIZE_MAX/2+1)",
		     a->calloc(2, launder(SIZE_MAX / 2 + 1)));
	CHECK_ENOMEM(a, "calloc(SIZE_MAX, SIZE_MAX)",
		     a->calloc(launder(SIZE_MAX), launder(SIZE_MAX)));
	CHECK_ENOMEM(a, "calloc(2^32, 2^32)",
		     a->calloc(launder((size_t)1 << 32), (size_t)1 << 32));
	CHECK_ENOMEM(a, "calloc(2^33, 2^31 + 1)",
		     a->calloc(launder((size_t)1 << 33), ((size_t)1 << 31) + 1));
	CHECK_ENOMEM(a, "calloc(PTRDIFF_MAX/2+1, 2)",
		     a->calloc(launder((size_t)PTRDIFF_MAX / 2 + 1), 2));
	CHECK_ENOMEM(a, "calloc(3, SIZE_MAX/3)",
		     a->calloc(3, launder(SIZE_MAX / 3)));

	/* realloc / reallocarray failures leave the old block alone */
	keep = a->malloc(launder(keep_n));
	if (!CHECK(keep, "%s: malloc(%zu) NULL", a->name, keep_n))
		return;
	pat_fill(keep, keep_n, 77);
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		size_t n = launder(huge[i]);

		set_errno_zero();
		p = a->realloc(keep, n);
		rc = errno;
		CHECK(p == NULL && rc == ENOMEM,
		      "%s: realloc(p, %#zx) = %p, errno %d", a->name, n, p, rc);
		if (p) {
			keep = p;
			continue;
		}
		set_errno_zero();
		p = a->reallocarray(keep, n, 1);
		rc = errno;
		CHECK(p == NULL && rc == ENOMEM,
		      "%s: reallocarray(p, %#zx, 1) = %p, errno %d", a->name,
		      n, p, rc);
		if (p)
			keep = p;
	}
	set_errno_zero();
	p = a->reallocarray(keep, launder(SIZE_MAX / 2 + 1), 2);
	rc = errno;
	CHECK(p == NULL && rc == ENOMEM,
	      "%s: reallocarray(p, SIZE_MAX/2+1, 2) = %p, errno %d", a->name,
	      p, rc);
	set_errno_zero();
	p = a->reallocarray(keep, launder((size_t)1 << 32), (size_t)1 << 32);
	rc = errno;
	CHECK(p == NULL && rc == ENOMEM,
	      "%s: reallocarray(p, 2^32, 2^32) = %p, errno %d", a->name, p, rc);
	set_errno_zero();
	p = a->reallocarray(NULL, launder(SIZE_MAX), 16);
	rc = errno;
	CHECK(p == NULL && rc == ENOMEM,
	      "%s: reallocarray(NULL, SIZE_MAX, 16) = %p, errno %d", a->name,
	      p, rc);
	/* the old block is still there, intact and usable */
	CHECK(hak_owns(keep) == 1, "%s: block lost after failed realloc",
	      a->name);
	CHECK(a->usable(keep) >= keep_n, "%s: usable shrank after failed realloc",
	      a->name);
	pat_check("after failed realloc", keep, keep_n, 77);
	p = a->reallocarray(keep, 10, 1000);
	if (CHECK(p, "%s: reallocarray(p, 10, 1000) NULL", a->name)) {
		keep = p;
		CHECK(hak_owns(p) == 1 && a->usable(p) >= 10000,
		      "%s: reallocarray(p, 10, 1000) = %p: owned %d, usable %zu",
		      a->name, p, hak_owns(p), a->usable(p));
	}
	pat_check("after reallocarray(10, 1000)", keep, keep_n, 77);
	a->free(keep);
}

/* ---- realloc -------------------------------------------------------------- */

/* Walk a chain of sizes, keeping the pattern; every byte checked. */
static void realloc_chain(const struct api *a, const size_t *chain, int n,
			  uint64_t seed)
{
	void *p = a->realloc(NULL, launder(chain[0]));
	size_t cur = chain[0];

	check_block(a, "realloc(NULL)", p, cur, 16, seed);
	if (!p)
		return;
	for (int i = 1; i < n; i++) {
		size_t next = chain[i], keep = cur < next ? cur : next;
		char what[64];
		void *q = a->realloc(p, launder(next));

		if (!CHECK(q, "%s: realloc(%zu -> %zu) NULL", a->name, cur, next))
			break;
		snprintf(what, sizeof(what), "realloc %zu -> %zu", cur, next);
		CHECK(hak_owns(q) == 1, "%s: %s: %p not owned", a->name, what, q);
		CHECK(((uintptr_t)q & 15) == 0, "%s: %s: %p misaligned", a->name,
		      what, q);
		CHECK(a->usable(q) >= next, "%s: %s: usable %zu", a->name, what,
		      a->usable(q));
		pat_check(what, q, keep, seed);
		/* extend the pattern over the new tail, and use the slack */
		pat_fill(q, next, seed);
		if (a->usable(q) > next)
			memset((char *)q + next, 0x33, a->usable(q) - next);
		p = q;
		cur = next;
	}
	pat_check("realloc chain end", p, cur, seed);
	a->free(p);
}

static void test_realloc(const struct api *a)
{
	static const size_t chain1[] = {
		24, 1000, 5000, 100000, 3 * MiB, 40 * MiB, 200, 8,
	};
	static const size_t chain2[] = {
		8, 40 * MiB, 1, 100000, 16, 4096, 4095, 4097, 2 * MiB,
		2 * MiB - 1, 2 * MiB + 1, 64 * KiB, 0 + 1,
	};
	static const size_t chain3[] = {
		1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128,
		129, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 2047, 2048,
		2049, 8191, 8192, 8193, 32767, 32768, 32769, 262143, 262144,
		262145, 1 * MiB, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 16 * MiB,
		15 * MiB, 9 * MiB, 4 * MiB, 1 * MiB, 64 * KiB, 512, 16, 1,
	};
	void *p;
	size_t n;

	realloc_chain(a, chain1, sizeof(chain1) / sizeof(chain1[0]), 1);
	realloc_chain(a, chain2, sizeof(chain2) / sizeof(chain2[0]), 2);
	realloc_chain(a, chain3, sizeof(chain3) / sizeof(chain3[0]), 3);

	/* grow and shrink by small steps: in-place paths */
	p = a->malloc(launder((size_t)1));
	if (!CHECK(p, "%s: malloc(1) NULL", a->name))
		return;
	pat_fill(p, 1, 4);
	n = 1;
	for (size_t next = 8; next <= (smoke ? 3000 : 20000); next += 7) {
		void *q = a->realloc(p, next);

		if (!CHECK(q, "%s: realloc(%zu) NULL", a->name, next))
			return;
		p = q;
		if (!pat_check("realloc grow step", p, n, 4))
			break;
		pat_fill(p, next, 4);
		n = next;
	}
	for (size_t next = n; next > 16; next -= next / 8 + 1) {
		void *q = a->realloc(p, next);

		if (!CHECK(q, "%s: realloc(%zu) NULL", a->name, next))
			return;
		p = q;
		if (!pat_check("realloc shrink step", p, next, 4))
			break;
	}
	a->free(p);

	/* same size, and realloc of a calloc'd block */
	p = a->calloc(100, 10);
	if (CHECK(p, "%s: calloc(100, 10) NULL", a->name)) {
		pat_fill(p, 1000, 5);
		p = a->realloc(p, launder((size_t)1000));
		if (CHECK(p, "%s: realloc same size NULL", a->name)) {
			pat_check("realloc same size", p, 1000, 5);
			a->free(p);
		}
	}
}

/*
 * realloc(p, 0) frees p and returns NULL (glibc).  The "frees" half is
 * checked through hak_stats: a leak would map hundreds of MiB.
 */
static void test_realloc_zero(const struct api *a)
{
	struct hak_stats st;
	size_t before, after;
	int big = smoke ? 200 : 600, small = smoke ? 100000 : 300000;

	for (int i = 0; i < 8; i++) {
		void *p = a->malloc(launder((size_t)100 << (3 * i)));

		if (!CHECK(p, "%s: malloc NULL", a->name))
			return;
		void *q = a->realloc(p, launder((size_t)0));
		CHECK(q == NULL, "%s: realloc(%p (size %zu), 0) = %p, want NULL",
		      a->name, p, (size_t)100 << (3 * i), q);
		if (q)
			a->free(q);
	}
	void *p = a->malloc(64);
	if (CHECK(p, "%s: malloc(64) NULL", a->name)) {
		void *q = a->reallocarray(p, launder((size_t)0), 8);

		CHECK(q == NULL, "%s: reallocarray(p, 0, 8) = %p, want NULL",
		      a->name, q);
		if (q)
			a->free(q);
	}

	hak_stats_get(&st);
	before = st.mapped;
	for (int i = 0; i < big; i++) {
		char *q = a->malloc(launder(4 * MiB));

		if (!CHECK(q, "%s: malloc(4 MiB) NULL", a->name))
			return;
		q[0] = 1;
		q[4 * MiB - 1] = 1;
		q = a->realloc(q, launder((size_t)0));
		if (q)
			a->free(q);
	}
	for (int i = 0; i < small; i++) {
		char *q = a->malloc(launder((size_t)1000));

		if (!CHECK(q, "%s: malloc(1000) NULL", a->name))
			return;
		q[0] = 1;
		q = a->realloc(q, launder((size_t)0));
		if (q)
			a->free(q);
	}
	hak_stats_get(&st);
	after = st.mapped;
	CHECK(after < before + 64 * MiB,
	      "%s: realloc(p, 0) leaks: mapped %zu -> %zu bytes", a->name,
	      before, after);
}

/* ---- aligned allocation --------------------------------------------------- */

static void test_aligned(const struct api *a)
{
	static const size_t sizes[] = { 0, 1, 100, 5000, 100000, 131072, 300000 };
	enum { NS = sizeof(sizes) / sizeof(sizes[0]), NB = 3 * NS };

	for (size_t al = sizeof(void *); al <= 4 * MiB; al <<= 1) {
		void *blk[NB];
		size_t bsz[NB];
		int nb = 0;

		for (int s = 0; s < NS; s++) {
			size_t n = launder(sizes[s]);
			uint64_t seed = al * 16 + (uint64_t)s * 4;
			char what[64];
			void *p = (void *)0x1234;
			int rc;

			snprintf(what, sizeof(what), "posix_memalign(%zu)", al);
			rc = a->posix_memalign(&p, al, n);
			CHECK(rc == 0, "%s: posix_memalign(%zu, %zu) = %d",
			      a->name, al, n, rc);
			if (rc == 0) {
				check_block(a, what, p, n, al, seed);
				blk[nb] = p;
				bsz[nb++] = n;
			}

			snprintf(what, sizeof(what), "aligned_alloc(%zu)", al);
			p = a->aligned_alloc(al, n);
			check_block(a, what, p, n, al, seed + 1);
			if (p) {
				blk[nb] = p;
				bsz[nb++] = n;
			}

			snprintf(what, sizeof(what), "memalign(%zu)", al);
			p = a->memalign(al, n);
			check_block(a, what, p, n, al, seed + 2);
			if (p) {
				blk[nb] = p;
				bsz[nb++] = n;
			}
		}
		/* all live together: no overlaps; then realloc keeps content */
		for (int i = 0; i < nb; i++) {
			uint64_t seed = al * 16 + (uint64_t)(i / 3) * 4 + i % 3;
			size_t n = bsz[i], grow = n * 2 + 16;
			char what[64];
			void *q;

			snprintf(what, sizeof(what), "aligned %zu, size %zu",
				 al, n);
			pat_check(what, blk[i], n, seed);
			q = a->realloc(blk[i], launder(grow));
			if (!CHECK(q, "%s: realloc(aligned %zu, %zu -> %zu) NULL",
				   a->name, al, n, grow)) {
				a->free(blk[i]);
				continue;
			}
			snprintf(what, sizeof(what),
				 "realloc of aligned %zu, size %zu", al, n);
			CHECK(((uintptr_t)q & 15) == 0, "%s: %s: %p misaligned",
			      a->name, what, q);
			CHECK(hak_owns(q) == 1, "%s: %s: not owned", a->name,
			      what);
			CHECK(a->usable(q) >= grow, "%s: %s: usable %zu < %zu",
			      a->name, what, a->usable(q), grow);
			pat_check(what, q, n, seed);
			/* shrink it, then grow it a lot: content still kept */
			blk[i] = q;
			q = a->realloc(q, launder(n / 2 + 1));
			if (CHECK(q, "%s: %s: shrink to %zu NULL", a->name, what,
				  n / 2 + 1)) {
				blk[i] = q;
				pat_check(what, q, n < n / 2 + 1 ? n : n / 2 + 1,
					  seed);
				q = a->realloc(q, launder(n * 8 + 1));
				if (CHECK(q, "%s: %s: grow to %zu NULL", a->name,
					  what, n * 8 + 1)) {
					blk[i] = q;
					pat_check(what, q,
						  n < n / 2 + 1 ? n : n / 2 + 1,
						  seed);
				}
			}
			a->free(blk[i]);
		}
	}

	/* bad alignments: EINVAL, *memptr untouched */
	static const size_t bad[] = {
		0, 1, 2, 3, sizeof(void *) / 2, sizeof(void *) + 1, 24, 48,
		sizeof(void *) * 3, 4096 + 8, SIZE_MAX,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static const size_t bsizes[] = { 0, 16, 5000 };

		for (size_t j = 0; j < 3; j++) {
			void *p = (void *)0x1234;
			int rc = a->posix_memalign(&p, launder(bad[i]), bsizes[j]);

			CHECK(rc == EINVAL && p == (void *)0x1234,
			      "%s: posix_memalign(align %zu, %zu) = %d, *memptr %p (want EINVAL, untouched)",
			      a->name, bad[i], bsizes[j], rc, p);
			if (rc == 0)
				a->free(p);
		}
	}
	/* valid but impossible alignments: ENOMEM, *memptr untouched */
	for (int k = 47; k <= 63; k += 8) {
		void *p = (void *)0x1234;
		size_t al = launder((size_t)1 << k);
		int rc = a->posix_memalign(&p, al, 16);

		CHECK(rc == ENOMEM && p == (void *)0x1234,
		      "%s: posix_memalign(2^%d, 16) = %d, *memptr %p (want ENOMEM)",
		      a->name, k, rc, p);
		if (rc == 0)
			a->free(p);
	}

	/* memalign rounds other alignments up to a power of two (glibc) */
	static const size_t odd[] = { 0, 3, 24, 48, 96, 1000, 3000, 5000 };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		size_t al = 16;
		void *p;

		while (al < odd[i])
			al <<= 1;
		p = a->memalign(launder(odd[i]), 100);
		check_block(a, "memalign(odd)", p, 100, al, 10);
		a->free(p);
	}

	/* small alignments below sizeof(void *) still work for these */
	for (size_t al = 1; al < sizeof(void *); al <<= 1) {
		void *p = a->aligned_alloc(launder(al), 24);

		check_block(a, "aligned_alloc(small)", p, 24, 16, 9);
		a->free(p);
		p = a->memalign(launder(al), 24);
		check_block(a, "memalign(small)", p, 24, 16, 9);
		a->free(p);
	}
}

/* valloc / pvalloc exist only under the libc names. */
static void test_valloc(void)
{
	static const size_t sizes[] = {
		0, 1, 100, 4095, 4096, 4097, 5000, 65536, 300000, 3 * MiB + 5,
	};
	char what[64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = launder(sizes[i]);
		size_t rounded = (n + page_size - 1) & ~(page_size - 1);
		void *p = valloc(n), *q = pvalloc(n);

		snprintf(what, sizeof(what), "valloc(%zu)", n);
		check_block(&libc_api, what, p, n, page_size, i);
		snprintf(what, sizeof(what), "pvalloc(%zu)", n);
		check_block(&libc_api, what, q, rounded, page_size, i + 100);
		if (p)
			pat_check(what, p, n, i);
		free(p);
		free(q);
	}
	set_errno_zero();
	void *p = valloc(launder(SIZE_MAX));
	int e = errno;
	CHECK(p == NULL && e == ENOMEM, "valloc(SIZE_MAX) = %p, errno %d", p, e);
	set_errno_zero();
	p = pvalloc(launder(SIZE_MAX));
	e = errno;
	CHECK(p == NULL && e == ENOMEM, "pvalloc(SIZE_MAX) = %p, errno %d", p, e);
	set_errno_zero();
	p = pvalloc(launder(SIZE_MAX - page_size + 2));
	e = errno;
	CHECK(p == NULL && e == ENOMEM, "pvalloc(SIZE_MAX - page + 2) = %p, errno %d",
	      p, e);
}

/* ---- many live blocks ----------------------------------------------------- */

static void shuffle(uint32_t *v, size_t n, struct t_rng *r)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = t_rand(r) % (i + 1);
		uint32_t t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static void test_many(const struct api *a, size_t n)
{
	void **blk = a->calloc(n, sizeof(*blk));
	uint32_t *sz = a->calloc(n, sizeof(*sz));
	uint32_t *order = a->calloc(n, sizeof(*order));
	struct t_rng r;
	size_t bad_own = 0, bad_align = 0, bad_usable = 0;

	if (!CHECK(blk && sz && order, "%s: calloc of tables failed", a->name))
		return;
	t_rng_seed(&r, 12345);
	for (size_t i = 0; i < n; i++) {
		sz[i] = (uint32_t)t_rand_range(&r, 1, 2000);
		blk[i] = a->malloc(sz[i]);
		if (!CHECK(blk[i], "%s: malloc(%u) #%zu NULL", a->name, sz[i], i))
			t_die("out of memory");
		bad_own += hak_owns(blk[i]) != 1;
		bad_align += ((uintptr_t)blk[i] & 15) != 0;
		bad_usable += a->usable(blk[i]) < sz[i];
		pat_fill(blk[i], sz[i], i);
		order[i] = (uint32_t)i;
	}
	CHECK(bad_own == 0, "%s: %zu of %zu live blocks not owned", a->name,
	      bad_own, n);
	CHECK(bad_align == 0, "%s: %zu of %zu live blocks misaligned", a->name,
	      bad_align, n);
	CHECK(bad_usable == 0, "%s: %zu of %zu live blocks too small", a->name,
	      bad_usable, n);

	/* free a random half, reallocate it with new sizes, check everything */
	shuffle(order, n, &r);
	for (size_t k = 0; k < n / 2; k++) {
		size_t i = order[k];

		if (!pat_check("many: first half", blk[i], sz[i], i))
			break;
		a->free(blk[i]);
	}
	for (size_t k = 0; k < n / 2; k++) {
		size_t i = order[k];

		sz[i] = (uint32_t)t_rand_range(&r, 1, 2000);
		blk[i] = a->malloc(sz[i]);
		if (!CHECK(blk[i], "%s: malloc(%u) NULL", a->name, sz[i]))
			t_die("out of memory");
		CHECK(hak_owns(blk[i]) == 1, "%s: %p not owned", a->name,
		      blk[i]);
		pat_fill(blk[i], sz[i], i);
	}
	shuffle(order, n, &r);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];

		pat_check("many: all", blk[i], sz[i], i);
		a->free(blk[i]);
	}
	a->free(order);
	a->free(sz);
	a->free(blk);
}

/* ---- libc-only bits: mixing the names, trim, stats ----------------------- */

static void test_mixed(void)
{
	void *p = malloc(100);

	if (CHECK(p, "malloc(100) NULL")) {
		CHECK(hak_usable_size(p) == malloc_usable_size(p),
		      "hak_usable_size %zu != malloc_usable_size %zu",
		      hak_usable_size(p), malloc_usable_size(p));
		pat_fill(p, 100, 6);
		p = hak_realloc(p, 5000);
		if (CHECK(p, "hak_realloc(malloc'd, 5000) NULL")) {
			pat_check("hak_realloc of malloc'd block", p, 100, 6);
			hak_free(p);
		}
	}
	p = hak_malloc(100);
	if (CHECK(p, "hak_malloc(100) NULL")) {
		pat_fill(p, 100, 7);
		p = realloc(p, 300000);
		if (CHECK(p, "realloc(hak_malloc'd, 300000) NULL")) {
			pat_check("realloc of hak_malloc'd block", p, 100, 7);
			free(p);
		}
	}
}

static void test_trim_stats(void)
{
	struct hak_stats st;
	void *blk[2000];
	char *big;
	int rc;

	big = malloc(launder(4 * MiB));
	if (!CHECK(big, "malloc(4 MiB) NULL"))
		return;
	memset(big, 1, 4 * MiB);
	hak_stats_get(&st);
	CHECK(st.mapped >= 4 * MiB, "stats: mapped %zu with 4 MiB live",
	      st.mapped);
	CHECK(st.mapped_peak >= st.mapped, "stats: peak %zu < mapped %zu",
	      st.mapped_peak, st.mapped);
	CHECK(st.heaps >= 1, "stats: heaps %zu", st.heaps);
	free(big);

	for (int i = 0; i < 2000; i++) {
		blk[i] = malloc(launder((size_t)(i % 7 == 0 ? 70000 : 500)));
		if (blk[i])
			memset(blk[i], 0xaa, 500);
	}
	for (int i = 0; i < 2000; i++)
		free(blk[i]);
	rc = hak_trim(0);
	CHECK(rc == 0 || rc == 1, "hak_trim(0) = %d", rc);
	rc = malloc_trim(0);
	CHECK(rc == 0 || rc == 1, "malloc_trim(0) = %d", rc);
	rc = hak_trim(1 * MiB);
	CHECK(rc == 0 || rc == 1, "hak_trim(1 MiB) = %d", rc);

	/* everything still works after a trim, and recycled memory is zeroed */
	for (int i = 0; i < 2000; i++) {
		size_t n = i % 7 == 0 ? 70000 : 500;
		size_t bad;

		blk[i] = calloc(1, launder(n));
		if (!CHECK(blk[i], "calloc(%zu) after trim NULL", n))
			return;
		CHECK(hak_owns(blk[i]) == 1, "calloc after trim: not owned");
		bad = byte_find_not(blk[i], n, 0);
		CHECK(bad == SIZE_MAX, "calloc(%zu) after trim: byte %zu not 0",
		      n, bad);
	}
	for (int i = 0; i < 2000; i++)
		free(blk[i]);
}

static void run_api(const struct api *a)
{
	a = launder(a);
	test_zero(a);
	test_sizes(a);
	test_calloc(a);
	test_overflow(a);
	test_realloc(a);
	test_realloc_zero(a);
	test_aligned(a);
	test_many(a, smoke ? 20000 : 200000);
}

int main(int argc, char **argv)
{
	double t0 = t_now();

	smoke = t_smoke(argc, argv);
	page_size = (size_t)sysconf(_SC_PAGESIZE);

	test_owns_foreign();
	run_api(&libc_api);
	run_api(&hak_api);
	if (!HAK_TEST_API_ONLY)
		test_valloc();
	test_mixed();
	test_trim_stats();

	printf("api: %s, %lu failed checks, %.2fs\n", smoke ? "smoke" : "full",
	       t_failed(), t_now() - t0);
	return t_result();
}
