// SPDX-License-Identifier: MIT
/*
 * debug/stats.c - the statistics table (HAKMEM_STATS=1 at exit, and
 * malloc_stats()).  Formats into a stack buffer, writes with write(2):
 * callable with the allocator in any state, never allocates.
 *
 * allocs/frees are counted only with HAKMEM_STATS=1 (then every malloc
 * and free takes the slow path, where counting costs nothing on the fast
 * path); without it those columns print '-'.  The other columns are slow
 * path events and always counted.  With HAKMEM_STATS=1 the global locks'
 * acquisitions come after the table (debug/lockstat.c); then the
 * empty-chunk cache's state and counters, and the summary line.
 */
#include "debug/debug.h"

#include <unistd.h>

#include "large/large.h"
#include "os/os.h"
#include "remote/remote.h"
#include "superslab/superslab.h"
#include "tiny/tiny.h"

static void out(const char *buf, int n)
{
	if (n > 0)
		hak_os_write_err(buf, (size_t)n);
}

static int num(char *b, size_t n, uint64_t v, bool known)
{
	if (!known)
		return hak_snprintf(b, n, "%10s", "-");
	char tmp[24];
	int len = hak_snprintf(tmp, sizeof(tmp), "%lu", (unsigned long)v);
	int pad = len < 10 ? 10 - len : 0;
	int at = 0;

	while (pad-- && at + 1 < (int)n)
		b[at++] = ' ';
	for (int i = 0; i < len && at + 1 < (int)n; i++)
		b[at++] = tmp[i];
	b[at] = 0;
	return at;
}

/* retain_print - the empty-chunk cache (docs/DESIGN.md "Giving memory
 * back"); never waits for its lock: at exit another thread may hold it */
static void retain_print(void)
{
	struct hak_ss_retain r;
	char line[256];
	int n;

	if (!hak_ss_retain_try(&r)) {
		n = hak_snprintf(line, sizeof(line),
				 "hakmem: empty chunks: busy\n");
	} else {
		n = hak_snprintf(line, sizeof(line),
				 "hakmem: empty chunks: dirty=%zu clean=%zu "
				 "window=%u ms hits=%llu misses=%llu "
				 "purged=%llu unmapped=%llu\n",
				 r.dirty, r.clean, (unsigned)r.decay_ms,
				 (unsigned long long)r.hits,
				 (unsigned long long)r.misses,
				 (unsigned long long)r.purged,
				 (unsigned long long)r.unmapped);
	}
	out(line, n);
}

void hak_dbg_stats_print(void)
{
	static uint64_t st[TINY_NCLASS][TS_NSTAT] HAK_LBSS;	/* too big for a stack */
	static const char *const head[TS_NSTAT] = {
		"allocs", "frees", "remote", "drained", "refills",
		"adopts", "publishes", "slabs+", "slabs-",
	};
	uint64_t tot[TS_NSTAT] = { 0 };
	size_t live, cached;
	char line[256];
	bool counted;
	int n;

	for (unsigned c = 0; c < TINY_NCLASS; c++)
		for (unsigned k = 0; k < TS_NSTAT; k++)
			st[c][k] = 0;
	counted = hak_tiny_stats_sum(st);

	n = hak_snprintf(line, sizeof(line), "hakmem stats (pid %d)%s\n  class   size",
			 (int)getpid(), counted ? "" :
			 ": allocs/frees/remote need HAKMEM_STATS=1");
	out(line, n);
	for (unsigned k = 0; k < TS_NSTAT; k++) {
		n = hak_snprintf(line, sizeof(line), "%10s", head[k]);
		out(line, n);
	}
	out("\n", 1);
	for (unsigned c = 0; c < TINY_NCLASS; c++) {
		uint64_t any = 0;

		for (unsigned k = 0; k < TS_NSTAT; k++) {
			any |= st[c][k];
			tot[k] += st[c][k];
		}
		if (!any)
			continue;
		n = hak_snprintf(line, sizeof(line), "  %5u %6u", c,
				 hak_tiny_class_size[c]);
		for (unsigned k = 0; k < TS_NSTAT; k++)
			n += num(line + n, sizeof(line) - (size_t)n, st[c][k],
				 counted || k > TS_REMOTE);
		line[n++] = '\n';
		out(line, n);
	}
	n = hak_snprintf(line, sizeof(line), "  %-12s", "total");
	for (unsigned k = 0; k < TS_NSTAT; k++)
		n += num(line + n, sizeof(line) - (size_t)n, tot[k],
			 counted || k > TS_REMOTE);
	line[n++] = '\n';
	out(line, n);

	hak_dbg_lock_stats_print();	/* the summary line stays last */
	retain_print();

	/* the boxes' counters read directly (what hak_stats_get() gathers
	 * for the public API): debug/ calls down only */
	hak_large_counts(&live, &cached);
	n = hak_snprintf(line, sizeof(line),
			 "hakmem: mapped=%zu KiB peak=%zu KiB chunks=%zu "
			 "heaps=%zu published=%zu large_live=%zu "
			 "large_cached=%zu rss=%ld KiB\n",
			 hak_os_mapped() >> 10, hak_os_mapped_peak() >> 10,
			 hak_ss_chunks(), hak_tiny_heaps(), hak_mbox_count(),
			 live, cached, hak_os_rss_kb());
	out(line, n);
}
