// SPDX-License-Identifier: MIT
/*
 * unit/large/large.c - the large box alone: the geometry of large.h (the
 * header one 2 MiB boundary below the user pointer, the registry kind at
 * the mapping's start), alignment up to and past 2 MiB, zeroing, usable
 * size, ownership, realloc in place and by moving (contents kept), the
 * BigCache (a freed mapping is reused for a close size, counted while
 * cached) and trim (the cache emptied).
 */
#include "helpers.h"
#include "large/large.h"
#include "registry/registry.h"

#define MIB	(1UL << 20)

static void check_block(void *p, size_t size, size_t align, const char *what)
{
	uintptr_t u = (uintptr_t)p;
	uintptr_t start = (u - 1) & ~(HAK_REG_SIZE - 1);

	if (!CHECK(p, "%s: alloc %zu failed", what, size))
		return;
	CHECK(u % (align ? align : 16) == 0, "%s: %p not aligned to %zu", what,
	      p, align);
	CHECK(hak_reg_kind(start) == HAK_REG_LARGE,
	      "%s: no HAK_REG_LARGE at the mapping's start (kind %u)", what,
	      hak_reg_kind(start));
	CHECK(hak_large_owns(p) && !hak_large_owns((char *)p + 16),
	      "%s: ownership", what);
	CHECK(hak_large_usable(p) >= size, "%s: usable %zu < %zu", what,
	      hak_large_usable(p), size);
}

int main(void)
{
	size_t live, cached, live0, cached0;
	unsigned char *p, *q;

	hak_large_config(60000);	/* keep freed mappings a minute */
	hak_large_trim();
	hak_large_counts(&live0, &cached0);

	/* zeroed, aligned (past 2 MiB too), owned */
	p = hak_large_alloc(3 * MIB + 5, 0, true);
	check_block(p, 3 * MIB + 5, 0, "plain");
	for (size_t i = 0; p && i < 3 * MIB + 5; i += 4096)
		if (!CHECK(p[i] == 0, "zeroed block has %u at %zu", p[i], i))
			break;
	for (size_t a = 4096; a <= 8 * MIB; a <<= 1) {
		q = hak_large_alloc(200000, a, false);
		check_block(q, 200000, a, "aligned");
		if (q)
			hak_large_free(q);
	}
	hak_large_counts(&live, &cached);
	CHECK(live == live0 + 1, "live %zu, want %zu", live, live0 + 1);

	/* realloc keeps the contents, growing and shrinking */
	memset(p, 0xab, 3 * MIB + 5);
	q = hak_large_realloc(p, 20 * MIB);
	check_block(q, 20 * MIB, 0, "grown");
	for (size_t i = 0; q && i < 3 * MIB + 5; i += 997)
		if (!CHECK(q[i] == 0xab, "grown block lost byte %zu", i))
			break;
	p = hak_large_realloc(q, 1 * MIB);
	check_block(p, 1 * MIB, 0, "shrunk");
	CHECK(p && p[MIB - 1] == 0xab, "shrunk block lost its contents");

	/* BigCache: a freed mapping is cached, then reused for the same size */
	hak_large_free(p);
	hak_large_counts(&live, &cached);
	CHECK(live == live0 && cached >= 1, "after free: live %zu cached %zu",
	      live, cached);
	q = hak_large_alloc(1 * MIB, 0, false);
	check_block(q, 1 * MIB, 0, "reused");
	CHECK(q == p, "same size did not reuse the cached mapping (%p, %p)",
	      (void *)q, (void *)p);
	hak_large_free(q);

	/* trim empties the cache */
	CHECK(hak_large_trim() > 0, "trim released nothing");
	hak_large_counts(&live, &cached);
	CHECK(cached == 0 && live == live0, "after trim: live %zu cached %zu",
	      live, cached);
	CHECK(!hak_large_owns(q), "a trimmed block is still owned");
	return t_result();
}
