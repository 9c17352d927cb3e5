// SPDX-License-Identifier: MIT
/*
 * unit/os/os.c - the OS contract of os.h: mappings are zeroed, page
 * multiples, aligned as asked (with an offset too) and counted in
 * hak_os_mapped() and its peak; decommitted pages read zero and stay
 * mapped; resize and move keep the contents; the raw environment iterator
 * sees every variable; rss, time and tid are sane.
 */
#include <sys/syscall.h>

#include "helpers.h"
#include "os/os.h"

#define MIB	(1UL << 20)

static bool zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 512)
		if (p[i])
			return false;
	return true;
}

int main(void)
{
	size_t base = hak_os_mapped(), cur = 0;
	unsigned char *p, *q;
	const char *e;
	bool seen = false;

	p = hak_os_map(3 * 4096);
	if (!CHECK(p, "map"))
		return t_result();
	CHECK((uintptr_t)p % HAK_PAGE_SIZE == 0 && zero(p, 3 * 4096),
	      "map: not page-aligned or not zeroed");
	CHECK(hak_os_mapped() == base + 3 * 4096, "mapped %zu, want %zu",
	      hak_os_mapped(), base + 3 * 4096);
	CHECK(hak_os_mapped_peak() >= hak_os_mapped(), "peak below mapped");

	memset(p, 0x5a, 3 * 4096);
	CHECK(hak_os_decommit(p + 4096, 4096) == 0, "decommit");
	CHECK(zero(p + 4096, 4096) && p[0] == 0x5a && p[2 * 4096] == 0x5a,
	      "decommit: the page does not read zero or its neighbours changed");
	CHECK(hak_os_unmap(p, 3 * 4096) == 0 && hak_os_mapped() == base,
	      "unmap: mapped %zu, want %zu", hak_os_mapped(), base);

	for (size_t a = 4096; a <= 4 * MIB; a <<= 2) {
		q = hak_os_map_aligned(2 * MIB, a, 0);
		CHECK(q && (uintptr_t)q % a == 0, "aligned %zu: %p", a, (void *)q);
		if (q)
			hak_os_unmap(q, 2 * MIB);
		q = hak_os_map_aligned(2 * MIB, 2 * MIB, 4096);
		CHECK(q && ((uintptr_t)q + 4096) % (2 * MIB) == 0,
		      "offset 4096: %p", (void *)q);
		if (q)
			hak_os_unmap(q, 2 * MIB);
	}
	CHECK(hak_os_mapped() == base, "aligned maps leak: %zu, want %zu",
	      hak_os_mapped(), base);

	/* resize in place or fail cleanly; move keeps the contents */
	p = hak_os_map(2 * MIB);
	q = hak_os_map_aligned(4 * MIB, 2 * MIB, 0);
	if (CHECK(p && q, "maps for resize/move")) {
		memset(p, 0x33, 2 * MIB);
		int r = hak_os_resize(p, 2 * MIB, 4 * MIB);

		CHECK(r == 0 || r < 0, "resize returned %d", r);
		CHECK(hak_os_move(p, r == 0 ? 4 * MIB : 2 * MIB, 4 * MIB, q) == 0,
		      "move");
		CHECK(q[0] == 0x33 && q[2 * MIB - 1] == 0x33,
		      "move lost the contents");
		hak_os_unmap(q, 4 * MIB);
	}

	/* the environment, read raw (no getenv, no allocation) */
	if (!CHECK(setenv("HAK_UNIT_OS", "1", 1) == 0, "setenv"))
		return t_result();
	while ((e = hak_os_next_env(&cur)))
		if (!strcmp(e, "HAK_UNIT_OS=1"))
			seen = true;
	CHECK(seen, "hak_os_next_env missed HAK_UNIT_OS=1");

	CHECK(hak_os_rss_kb() > 0, "rss %ld KiB", hak_os_rss_kb());
	CHECK(hak_os_now_ms() > 0, "now_ms is 0");
	CHECK(hak_os_thread_tid() == syscall(SYS_gettid), "tid");
	return t_result();
}
