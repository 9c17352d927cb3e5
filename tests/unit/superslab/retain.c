// SPDX-License-Identifier: MIT
/*
 * unit/superslab/retain.c - the empty-chunk cache's return policy
 * (docs/DESIGN.md "Giving memory back"), on whole-chunk slabs (shift 21:
 * one slab per chunk, so every release empties a chunk):
 *   - a chunk that goes empty keeps its pages and is the next one handed
 *     out (a pattern written before the release is still there): no
 *     purge, no fault, when the program reuses it at once;
 *   - at most HAKMEM_RETAIN_MB of empty chunks stay mapped; the rest are
 *     unmapped at once (hak_ss_chunks() drops);
 *   - a chunk idle for longer than the window is purged (its pages read 0
 *     again) at a later release, still mapped; taken again within the
 *     maximum delay it counts as a miss and the window grows;
 *   - a decay maximum of 0 purges at once, a bound of 0 unmaps at once;
 *   - hak_ss_trim() unmaps the whole cache;
 *   - malloc_stats() prints the cache and its counters as they are.
 * Before the policy, a chunk past the first cached one was purged the
 * moment it went empty (the reuse check below failed).
 */
#include "helpers.h"
#include "superslab/superslab.h"
#include "unit/superslab/retain_test.h"
#include "unit/debug/debug_test.h"

#define N	6

/* the first byte of the slab's block area, past the chunk header */
static volatile char *area(struct hak_slab *s)
{
	return (volatile char *)hak_ss_slab_start(s);
}

/* reuse: two chunks go empty; both come back with their pages, the one
 * released last first */
static void reuse(void)
{
	struct hak_slab *s = hak_ss_acquire(BIG), *t = hak_ss_acquire(BIG);
	struct hak_slab *u, *v;
	struct hak_ss_retain r0 = now(), r;

	if (!CHECK(s && t, "acquire"))
		return;
	area(s)[0] = 0x5a;
	area(t)[0] = 0x5b;
	area(t)[SS_SIZE / 2] = 0x5c;
	hak_ss_release(s);
	hak_ss_release(t);
	r = now();
	CHECK(r.dirty == r0.dirty + 2, "dirty %zu -> %zu", r0.dirty, r.dirty);
	u = hak_ss_acquire(BIG);
	v = hak_ss_acquire(BIG);
	CHECK(u == t && v == s, "released %p then %p, got %p then %p",
	      (void *)s, (void *)t, (void *)u, (void *)v);
	if (u == t && v == s)
		CHECK(area(t)[0] == 0x5b && area(t)[SS_SIZE / 2] == 0x5c &&
		      area(s)[0] == 0x5a,
		      "an at-once reuse found its pages purged");
	r = now();
	CHECK(r.hits == r0.hits + 2, "hits +%lu, want 2",
	      (unsigned long)(r.hits - r0.hits));
	hak_ss_release(u);
	hak_ss_release(v);
}

/* bound: of N emptied chunks at most 4 (8 MiB) stay mapped */
static void bound(void)
{
	struct hak_slab *s[N];
	size_t c0 = hak_ss_chunks();
	struct hak_ss_retain r0, r;

	hak_ss_trim();
	c0 = hak_ss_chunks();
	r0 = now();
	for (int i = 0; i < N; i++)
		if (!CHECK((s[i] = hak_ss_acquire(BIG)), "acquire %d", i))
			return;
	CHECK(hak_ss_chunks() == c0 + N, "chunks %zu, want %zu",
	      hak_ss_chunks(), c0 + N);
	for (int i = 0; i < N; i++)
		hak_ss_release(s[i]);
	r = now();
	CHECK(r.dirty + r.clean == 4, "cached %zu + %zu, want 4", r.dirty,
	      r.clean);
	CHECK(r.unmapped == r0.unmapped + N - 4, "unmapped %lu, want %lu",
	      (unsigned long)(r.unmapped - r0.unmapped),
	      (unsigned long)(N - 4));
	CHECK(hak_ss_chunks() == c0 + 4, "chunks %zu, want %zu",
	      hak_ss_chunks(), c0 + 4);
	CHECK(hak_ss_trim() == 4 * SS_SIZE, "trim did not unmap the 4");
	r = now();
	CHECK(r.dirty == 0 && r.clean == 0 && hak_ss_chunks() == c0,
	      "after trim: dirty %zu clean %zu chunks %zu (want 0 0 %zu)",
	      r.dirty, r.clean, hak_ss_chunks(), c0);
}

/* decay: an idle chunk is purged by a later release, then a miss */
static void decay(void)
{
	struct hak_slab *s, *t, *u;
	struct hak_ss_retain r0, r;

	hak_ss_trim();
	hak_ss_config(8UL << 20, 0, 0, 40);	/* window starts at 4 ms */
	s = hak_ss_acquire(BIG);
	t = hak_ss_acquire(BIG);
	if (!CHECK(s && t, "acquire"))
		return;
	area(s)[0] = 0x33;
	r0 = now();
	hak_ss_release(s);
	nap_ms(30);		/* > the window, < the maximum */
	hak_ss_release(t);	/* t goes empty: s, idle, is purged */
	r = now();
	CHECK(r.purged == r0.purged + 1, "purged %lu, want 1",
	      (unsigned long)(r.purged - r0.purged));
	CHECK(r.dirty == 1 && r.clean == 1, "dirty %zu clean %zu, want 1 1",
	      r.dirty, r.clean);
	CHECK(area(s)[0] == 0, "purged chunk still holds its pattern");
	/* t (dirty) first, then s (clean): a miss 30 ms after its release */
	u = hak_ss_acquire(BIG);
	CHECK(u == t, "dirty chunk %p not first (got %p)", (void *)t,
	      (void *)u);
	u = hak_ss_acquire(BIG);
	CHECK(u == s, "clean chunk %p not next (got %p)", (void *)s,
	      (void *)u);
	r = now();
	CHECK(r.misses == r0.misses + 1, "misses %lu, want 1",
	      (unsigned long)(r.misses - r0.misses));
	CHECK(r.decay_ms >= 25 && r.decay_ms <= 40,
	      "window %u ms after a miss at ~30 ms (max 40)", r.decay_ms);
	hak_ss_release(t);
	hak_ss_release(s);
	hak_ss_trim();
}

/* the two zero settings: purge at once, unmap at once */
static void zeros(void)
{
	struct hak_slab *s;
	size_t c0;
	struct hak_ss_retain r0, r;

	hak_ss_config(8UL << 20, 0, 0, 0);
	r0 = now();
	s = hak_ss_acquire(BIG);
	if (!CHECK(s, "acquire"))
		return;
	area(s)[0] = 1;
	hak_ss_release(s);
	r = now();
	CHECK(r.dirty == 0 && r.clean == 1 && r.purged == r0.purged + 1,
	      "decay 0: dirty %zu clean %zu purged +%lu", r.dirty, r.clean,
	      (unsigned long)(r.purged - r0.purged));
	hak_ss_trim();
	hak_ss_config(0, 0, 0, 1000);
	c0 = hak_ss_chunks();
	s = hak_ss_acquire(BIG);
	if (!CHECK(s, "acquire"))
		return;
	hak_ss_release(s);
	r = now();
	CHECK(r.dirty == 0 && r.clean == 0 && hak_ss_chunks() == c0,
	      "retain 0: dirty %zu clean %zu chunks %zu (want %zu)", r.dirty,
	      r.clean, hak_ss_chunks(), c0);
}

/* malloc_stats()'s "empty chunks" line says what hak_ss_retain_get() says */
static void printed(void)
{
	struct hak_ss_retain r;
	unsigned long long h, m, p, u;
	size_t d, c;
	unsigned w;
	const char *buf, *line;
	int fds[2], saved;

#ifdef HAK_TEST_API_ONLY
	return;		/* malloc_stats() is the sanitizer's there */
#endif
	saved = dup(2);
	CHECK(pipe(fds) == 0 && saved >= 0, "pipe");
	dup2(fds[1], 2);
	buf = stats_table(fds[0]);
	dup2(saved, 2);
	close(saved);
	close(fds[0]);
	close(fds[1]);
	r = now();	/* nothing between: malloc_stats() allocates nothing */
	line = strstr(buf, "hakmem: empty chunks: ");
	CHECK(line && sscanf(line, "hakmem: empty chunks: dirty=%zu clean=%zu "
			     "window=%u ms hits=%llu misses=%llu purged=%llu "
			     "unmapped=%llu", &d, &c, &w, &h, &m, &p, &u) == 7,
	      "no empty-chunk line in malloc_stats(): %.300s", buf);
	if (!line)
		return;
	CHECK(d == r.dirty && c == r.clean && w == r.decay_ms &&
	      h == r.hits && m == r.misses && p == r.purged && u == r.unmapped,
	      "printed %zu %zu %u %llu %llu %llu %llu, the cache says %zu %zu "
	      "%u %llu %llu %llu %llu", d, c, w, h, m, p, u, r.dirty, r.clean,
	      (unsigned)r.decay_ms, (unsigned long long)r.hits,
	      (unsigned long long)r.misses, (unsigned long long)r.purged,
	      (unsigned long long)r.unmapped);
	CHECK(u > 0 && h > 0, "the run above unmapped %llu, reused %llu", u, h);
}

int main(void)
{
	/* start-up first (it applies the HAKMEM_* settings), then ours;
	 * volatile: the compiler may drop a malloc/free pair */
	void *volatile first = malloc(1);

	free(first);
	hak_ss_config(8UL << 20, 0, 0, 1000);
	reuse();
	bound();
	decay();
	zeros();
	printed();
	return t_result();
}
