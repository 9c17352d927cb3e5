// SPDX-License-Identifier: MIT
/*
 * tests/stress/trim.c - memory return: after everything is freed,
 * malloc_trim(0) gives the memory back to the OS.
 *
 * Usage: trim.t [--smoke] [MiB]
 *   defaults: 1024 MiB (128 under sanitizers/valgrind), --smoke 64 MiB.
 *
 * Blocks of TOTAL bytes in all, by bytes 40% small (16..1024 B), 35% mid
 * (1..128 KiB, slab classes) and 25% large (128 KiB..4 MiB, own mappings),
 * each written on every page (so all of it is resident), are allocated by
 * two threads and freed by three, so that every hand-over path carries
 * memory that must come back:
 *   - main allocates half (set M) and stays alive;
 *   - thread A allocates the other half (set A) and exits: its slabs are
 *     published to the mailbox;
 *   - thread B checks and frees every other block of M (remote frees into
 *     main's slabs) and of A (frees into published slabs: B adopts them),
 *     then exits;
 *   - main checks and frees the rest, then calls malloc_trim(0).
 *
 * Asserted, with R0 / M0 the RSS and hak_stats.mapped before the
 * allocations (the pointer table is mapped and touched before R0):
 *   - the allocation really happened: mapped_peak >= M0 + 0.9 * TOTAL, and
 *     (release/debug) peak RSS >= R0 + 0.75 * TOTAL;
 *   - after malloc_trim(0): mapped <= M0 + BOUND and (release/debug)
 *     RSS <= R0 + BOUND, BOUND = 64 MiB (TOTAL / 4 when smaller: 16 MiB in
 *     the smoke run).  What may stay: the slabs the main thread keeps as
 *     current ones (one per class), heap metadata, partly used chunks;
 *   - malloc_trim returned the large-block cache: large_cached == 0;
 *   - the allocator still works after the trim (a fresh mixed round).
 */
#include <pthread.h>
#include <sys/mman.h>

#include "stress.h"

#define MAX_BOUND	(64 * S_MiB)

struct blk {
	void *p;
	size_t size;
	uint64_t key;
};

struct set {
	struct blk *b;
	size_t n, cap;
	size_t bytes;
};

static size_t total;

static __attribute__((noreturn, cold, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("trim: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(T_FAIL);
}

/* the pointer tables come from mmap: not the allocator under test */
static void set_init(struct set *s, size_t cap)
{
	size_t bytes = cap * sizeof(struct blk);

	s->b = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->b == MAP_FAILED)
		die("mmap of %zu bytes for the table failed", bytes);
	memset(s->b, 0, bytes);		/* resident before the baseline */
	s->n = 0;
	s->cap = cap;
	s->bytes = 0;
}

static void set_fini(struct set *s)
{
	munmap(s->b, s->cap * sizeof(struct blk));
}

static size_t pick_size(struct t_rng *r, int kind)
{
	switch (kind) {
	case 0:
		return (size_t)t_rand_range(r, 16, 1024);
	case 1:
		return (size_t)t_rand_range(r, 1025, 128 * S_KiB);
	default:
		return (size_t)t_rand_range(r, 128 * S_KiB + 1, 4 * S_MiB);
	}
}

/* fill @s with blocks of @bytes in all, by the 40/35/25 byte split */
static void alloc_set(struct set *s, size_t bytes, uint64_t seed)
{
	static const unsigned share[3] = { 40, 35, 25 };
	struct t_rng r;

	t_rng_seed(&r, seed);
	for (int kind = 0; kind < 3; kind++) {
		size_t want = bytes / 100 * share[kind], got = 0;

		while (got < want) {
			struct blk *b;

			if (s->n == s->cap)
				die("table full (%zu blocks)", s->cap);
			b = &s->b[s->n++];
			b->size = pick_size(&r, kind);
			b->p = malloc(b->size);
			if (!b->p)
				die("malloc(%zu) failed after %zu MiB", b->size,
				    s->bytes >> 20);
			b->key = s_key(b->p, b->size, s->n);
			s_fill(b->p, b->size, b->key);
			if (hak_owns(b->p) != 1)
				die("block %p (%zu B) is not hakmem's", b->p,
				    b->size);
			got += b->size;
			s->bytes += b->size;
		}
	}
}

/* check and free the blocks of @s with index % 2 == @parity */
static void free_half(struct set *s, int parity, const char *who)
{
	for (size_t i = (size_t)parity; i < s->n; i += 2) {
		struct blk *b = &s->b[i];
		long bad = s_check(b->p, b->size, b->key);

		if (bad >= 0)
			die("%s: block %p size %zu damaged at offset %ld", who,
			    b->p, b->size, bad);
		free(b->p);
		b->p = NULL;
	}
}

static struct set set_m, set_a;

static void *thread_a(void *arg)
{
	(void)arg;
	alloc_set(&set_a, total / 2, 2);
	return NULL;	/* exit with set A live: slabs published */
}

static void *thread_b(void *arg)
{
	(void)arg;
	free_half(&set_m, 0, "thread B, main's blocks");
	free_half(&set_a, 0, "thread B, thread A's blocks");
	return NULL;
}

static void run(void *(*fn)(void *))
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, NULL) || pthread_join(t, NULL))
		die("pthread_create/join failed");
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *a_mib = t_arg(argc, argv, 0);
	size_t mib = a_mib ? (size_t)atol(a_mib) :
		     smoke ? 64 : S_SLOW ? 128 : 1024;
	size_t cap, bound;
	long r0, r_freed, r1, hwm;
	struct hak_stats m0, m_freed, m1, st;
	int trimmed;
	double t0 = t_now(), t_trim;

	if (mib < 16)
		die("usage: %s [--smoke] [MiB >= 16]", argv[0]);
	total = mib * S_MiB;
	bound = total / 4 < MAX_BOUND ? total / 4 : MAX_BOUND;
	/* small blocks average 520 B and hold 40% of the bytes */
	cap = total / 2 / 500 + 4096;
	set_init(&set_m, cap);
	set_init(&set_a, cap);
	s_warm();
	r0 = t_rss_kb();
	m0 = s_stats();

	alloc_set(&set_m, total / 2, 1);
	run(thread_a);
	run(thread_b);
	free_half(&set_m, 1, "main, its own blocks");
	free_half(&set_a, 1, "main, thread A's blocks");
	hwm = t_hwm_kb();
	r_freed = t_rss_kb();
	m_freed = s_stats();

	t_trim = t_now();
	trimmed = s_trim();
	t_trim = t_now() - t_trim;
	r1 = t_rss_kb();
	m1 = s_stats();

	CHECK(m1.mapped_peak >= m0.mapped + total / 10 * 9,
	      "mapped peak %.1f MiB < start %.1f + 0.9 x %zu MiB: the allocations did not happen?",
	      s_mib(m1.mapped_peak), s_mib(m0.mapped), mib);
	CHECK(m1.mapped <= m0.mapped + bound,
	      "after malloc_trim(0) mapped is %.1f MiB > %.1f at start + %.0f MiB (%.1f MiB before the trim; %zu chunks, %zu large cached)",
	      s_mib(m1.mapped), s_mib(m0.mapped), s_mib(bound),
	      s_mib(m_freed.mapped), m1.chunks, m1.large_cached);
	CHECK(m1.large_cached == 0,
	      "malloc_trim(0) left %zu large mappings cached", m1.large_cached);
	if (S_RSS_STRICT) {
		CHECK((size_t)hwm * S_KiB >= (size_t)r0 * S_KiB + total / 4 * 3,
		      "peak RSS %.1f MiB < start %.1f + 0.75 x %zu MiB: the blocks were not resident?",
		      s_kb_mib(hwm), s_kb_mib(r0), mib);
		CHECK((size_t)r1 * S_KiB <= (size_t)r0 * S_KiB + bound,
		      "after malloc_trim(0) RSS is %.1f MiB > %.1f at start + %.0f MiB (%.1f MiB before the trim)",
		      s_kb_mib(r1), s_kb_mib(r0), s_mib(bound),
		      s_kb_mib(r_freed));
	}

	/* the allocator still works after giving everything back */
	{
		struct set again;

		set_init(&again, 4096 + (4 * S_MiB) / 500);
		alloc_set(&again, 4 * S_MiB, 3);
		free_half(&again, 0, "after trim");
		free_half(&again, 1, "after trim");
		set_fini(&again);
	}
	st = s_stats();
	set_fini(&set_m);
	set_fini(&set_a);

	printf("trim: %zu MiB in %zu blocks (2 threads allocate, 3 free, one exits with its half live) in %.2fs; "
	       "RSS start %.1f MiB, peak %.1f, all freed %.1f, after malloc_trim(0) %.1f (bound start + %.0f)%s; "
	       "mapped start %.1f MiB, peak %.1f, all freed %.1f, after trim %.1f (bound start + %.0f), %zu chunks, %zu large cached; "
	       "trim returned %d in %.3fs; %zu heaps\n",
	       mib, set_m.n + set_a.n, t_now() - t0, s_kb_mib(r0),
	       s_kb_mib(hwm), s_kb_mib(r_freed), s_kb_mib(r1), s_mib(bound),
	       s_flavour_note(), s_mib(m0.mapped), s_mib(m1.mapped_peak),
	       s_mib(m_freed.mapped), s_mib(m1.mapped), s_mib(bound),
	       m1.chunks, m1.large_cached, trimmed, t_trim, st.heaps);
	return t_result();
}
