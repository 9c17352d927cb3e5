// SPDX-License-Identifier: MIT
/*
 * tests/stress/churn.c - thread churn: thousands of short-lived threads,
 * each freeing what its predecessor left and leaving live blocks for its
 * successor.
 *
 * Usage: churn.t [--smoke] [threads]
 *   defaults: 2000 threads (400 under sanitizers/valgrind), --smoke 200.
 *
 * LANES chains of threads run side by side; the main thread starts one
 * thread per lane, joins them all, and starts the next generation.  A
 * thread of lane L, generation g:
 *   - for each of the NB blocks generation g-1 left in lane L: checks its
 *     pattern and hak_owns(), then frees it (7 in 8) or reallocs it to a new
 *     size (1 in 8, prefix checked) and keeps the result; a freed block is
 *     replaced by a new one of a new size (malloc, calloc 1 in 16);
 *   - does LOCAL_OPS malloc/check/free pairs of small blocks;
 *   - exits with its NB blocks live: hakmem publishes its slabs at thread
 *     exit, and generation g+1's frees and mallocs must adopt them.
 * Sizes: 80% 1..1024 B, 18% 1..64 KiB, 2% 128..512 KiB (own mappings).
 *
 * Asserted (bounds derived from the live set):
 *   - every pattern intact, every block hak_owns() == 1, every malloc
 *     succeeds, blocks allocated == blocks freed at the end;
 *   - hak_stats.heaps <= LANES + 2: heaps of exited threads are pooled and
 *     reused (at most LANES workers and the main thread ever coexist);
 *   - mapped_peak <= mapped at start + 2 * (peak live bytes) + 64 MiB: the
 *     64 MiB is one partly used slab per class for each of the LANES + 1
 *     heaps (up to ~20 MiB a heap once mid classes with 512 KiB-1 MiB
 *     slabs are in use) plus the large-block cache; without reuse 2000
 *     threads x ~0.6 MiB each would need > 1 GiB;
 *   - no growth after warm-up: the highest mapped and RSS seen after any
 *     generation of the second half <= that of the first half + 16 MiB (a
 *     leak of one 64 KiB slab per thread would add 64 MiB in the full run).
 *     The slack is chunk granularity: a chunk holds slabs of one span, the
 *     sizes here use six spans (64 KiB..2 MiB), and which generation first
 *     needs one more 2 MiB chunk of a span is down to the draw, so short
 *     runs still see single jumps of up to 8 MiB after their first half
 *     (heir.t checks the hoarding itself, run for run);
 *   - (release and debug) peak RSS - RSS at start <= the mapped bound +
 *     16 MiB (thread stacks, libc).
 */
#include <pthread.h>

#include "stress.h"

#define LANES		2
#define NB		128		/* blocks a thread leaves behind */
#define LOCAL_OPS	512
#define GROWTH_SLACK	(16 * S_MiB)
#define FIXED_MAPPED	(64 * S_MiB)
#define FIXED_RSS	(16 * S_MiB)

struct blk {
	void *p;
	size_t size;
	uint64_t key;
};

struct lane {
	struct blk blk[NB];		/* live blocks, handed down */
	uint64_t live_bytes;
} __attribute__((aligned(64)));

struct job {
	pthread_t tid;
	int lane;
	unsigned gen;
	uint64_t allocs, frees, reallocs;
	uint64_t live_bytes;		/* what it leaves behind */
};

static struct lane lanes[LANES];

static __attribute__((noreturn, cold, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("churn: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(T_FAIL);
}

static size_t rand_size(struct t_rng *r)
{
	unsigned int pick = (unsigned int)(t_rand(r) % 100);

	if (pick < 80)
		return (size_t)t_rand_range(r, 1, 1024);
	if (pick < 98)
		return (size_t)t_rand_range(r, 1, 64 * S_KiB);
	return (size_t)t_rand_range(r, 128 * S_KiB, 512 * S_KiB);
}

static void verify(const struct blk *b, const char *what, struct job *j)
{
	long bad;

	if (hak_owns(b->p) != 1)
		die("lane %d gen %u: %s block %p size %zu: hak_owns() != 1",
		    j->lane, j->gen, what, b->p, b->size);
	bad = s_check(b->p, b->size, b->key);
	if (bad >= 0)
		die("lane %d gen %u: %s block %p size %zu damaged at offset %ld",
		    j->lane, j->gen, what, b->p, b->size, bad);
}

static void blk_new(struct blk *b, struct t_rng *r, struct job *j)
{
	bool zero = t_rand(r) % 16 == 0;

	b->size = rand_size(r);
	b->p = zero ? calloc(1, b->size) : malloc(b->size);
	if (!b->p)
		die("lane %d gen %u: allocation of %zu bytes failed", j->lane,
		    j->gen, b->size);
	if (hak_owns(b->p) != 1 || ((uintptr_t)b->p & 15))
		die("lane %d gen %u: new block %p (%zu B) misaligned or not hakmem's",
		    j->lane, j->gen, b->p, b->size);
	if (zero)
		for (size_t i = 0; i < b->size; i += 509)
			if (((unsigned char *)b->p)[i])
				die("calloc(%zu) = %p: byte %zu not zero",
				    b->size, b->p, i);
	b->key = s_key(b->p, b->size, t_rand(r));
	s_fill(b->p, b->size, b->key);
	j->allocs++;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct lane *l = &lanes[j->lane];
	struct t_rng r;
	uint64_t live = 0;

	t_rng_seed(&r, ((uint64_t)j->gen << 8) | (uint64_t)j->lane);
	for (int i = 0; i < NB; i++) {
		struct blk *b = &l->blk[i];

		if (b->p) {
			verify(b, "inherited", j);
			if (t_rand(&r) % 8 == 0) {
				size_t n = rand_size(&r), keep;
				struct blk old = *b;
				uintptr_t was = (uintptr_t)old.p; /* messages */

				b->p = realloc(old.p, n);
				if (!b->p)
					die("realloc(%#lx, %zu) failed",
					    (unsigned long)was, n);
				/* the old pattern is keyed by the old pointer:
				 * check what survived word by word */
				keep = old.size < n ? old.size : n;
				if (keep >= 16 && old.size >= 16 &&
				    memcmp(b->p, &old.key, 8) != 0)
					die("realloc(%#lx, %zu -> %zu) = %p lost its first word",
					    (unsigned long)was, old.size, n, b->p);
				b->size = n;
				b->key = s_key(b->p, n, t_rand(&r));
				s_fill(b->p, n, b->key);
				j->reallocs++;
				live += n;
				continue;
			}
			free(b->p);
			j->frees++;
		}
		blk_new(b, &r, j);
		live += b->size;
	}
	for (int k = 0; k < LOCAL_OPS; k++) {
		struct blk b;

		b.size = (size_t)t_rand_range(&r, 1, 512);
		b.p = malloc(b.size);
		if (!b.p)
			die("malloc(%zu) failed", b.size);
		b.key = s_key(b.p, b.size, (uint64_t)k);
		s_fill(b.p, b.size, b.key);
		verify(&b, "local", j);
		free(b.p);
		j->allocs++;
		j->frees++;
	}
	j->live_bytes = live;
	return NULL;	/* NB blocks stay live: the next generation's */
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *a_n = t_arg(argc, argv, 0);
	unsigned total = a_n ? (unsigned)atoi(a_n) :
			 smoke ? 200 : S_SLOW ? 400 : 2000;
	unsigned gens = (total + LANES - 1) / LANES, half;
	struct job jobs[LANES];
	uint64_t allocs = 0, frees = 0, reallocs = 0, live_peak = 0;
	size_t map_max[2] = { 0, 0 };
	long rss_max[2] = { 0, 0 }, rss0, hwm;
	struct hak_stats st0, st;
	double t0 = t_now(), secs;

	if (gens < 4)
		die("usage: %s [--smoke] [threads >= %d]", argv[0], 4 * LANES);
	half = gens / 2;
	/* the main thread's heap exists before the baseline */
	s_warm();
	rss0 = t_rss_kb();
	st0 = s_stats();

	for (unsigned g = 0; g < gens; g++) {
		uint64_t live = 0;
		long rss;

		for (int i = 0; i < LANES; i++) {
			jobs[i] = (struct job){ .lane = i, .gen = g };
			if (pthread_create(&jobs[i].tid, NULL, worker, &jobs[i]))
				die("pthread_create failed at generation %u", g);
		}
		for (int i = 0; i < LANES; i++) {
			if (pthread_join(jobs[i].tid, NULL))
				die("pthread_join failed");
			allocs += jobs[i].allocs;
			frees += jobs[i].frees;
			reallocs += jobs[i].reallocs;
			live += jobs[i].live_bytes;
		}
		/* live now: this generation's blocks; just before, the previous
		 * one's too (a thread frees as it allocates): bound by both */
		if (live > live_peak)
			live_peak = live;
		st = s_stats();
		rss = t_rss_kb();
		if (st.mapped > map_max[g >= half])
			map_max[g >= half] = st.mapped;
		if (rss > rss_max[g >= half])
			rss_max[g >= half] = rss;
	}
	secs = t_now() - t0;
	hwm = t_hwm_kb();
	st = s_stats();

	/* the main thread frees the last generation's blocks */
	for (int i = 0; i < LANES; i++)
		for (int k = 0; k < NB; k++)
			if (lanes[i].blk[k].p) {
				struct job j = { .lane = i, .gen = gens };

				verify(&lanes[i].blk[k], "final", &j);
				free(lanes[i].blk[k].p);
				frees++;
			}

	{
		/* two generations live at once at worst */
		size_t bound_map = 2 * 2 * (size_t)live_peak + FIXED_MAPPED;

		CHECK(allocs == frees, "%llu allocations, %llu frees",
		      (unsigned long long)allocs, (unsigned long long)frees);
		CHECK(st.heaps <= LANES + 2,
		      "%zu heaps created for %d concurrent threads + main: exited threads' heaps not reused",
		      st.heaps, LANES);
		CHECK(st.mapped_peak <= st0.mapped + bound_map,
		      "mapped_peak %.1f MiB > start %.1f + bound %.1f MiB (2 x 2 x live peak %.1f MiB + %.0f): published slabs not reused?",
		      s_mib(st.mapped_peak), s_mib(st0.mapped), s_mib(bound_map),
		      s_mib(live_peak), s_mib(FIXED_MAPPED));
		CHECK(map_max[1] <= map_max[0] + GROWTH_SLACK,
		      "mapped grows after warm-up: max %.1f MiB in generations 0..%u, %.1f MiB in %u..%u (slack %.0f)",
		      s_mib(map_max[0]), half - 1, s_mib(map_max[1]), half,
		      gens - 1, s_mib(GROWTH_SLACK));
		if (S_RSS_STRICT) {
			CHECK((size_t)rss_max[1] * S_KiB <=
			      (size_t)rss_max[0] * S_KiB + GROWTH_SLACK,
			      "RSS grows after warm-up: max %.1f MiB in the first half, %.1f MiB in the second (slack %.0f)",
			      s_kb_mib(rss_max[0]), s_kb_mib(rss_max[1]),
			      s_mib(GROWTH_SLACK));
			CHECK((size_t)(hwm - rss0) * S_KiB <= bound_map + FIXED_RSS,
			      "peak RSS %.1f MiB - start %.1f MiB > bound %.1f MiB",
			      s_kb_mib(hwm), s_kb_mib(rss0),
			      s_mib(bound_map + FIXED_RSS));
		}
		printf("churn: %u threads (%d lanes x %u generations, %d blocks left to each successor) in %.2fs, %llu allocs (%llu reallocs); "
		       "heaps %zu (bound %d); live peak %.1f MiB; mapped peak %.1f MiB (start %.1f, bound +%.1f), max first/second half %.1f/%.1f MiB; "
		       "RSS start %.1f MiB, peak %.1f MiB (bound +%.1f), max first/second half %.1f/%.1f MiB%s\n",
		       gens * LANES, LANES, gens, NB, secs,
		       (unsigned long long)allocs, (unsigned long long)reallocs,
		       st.heaps, LANES + 2, s_mib(live_peak),
		       s_mib(st.mapped_peak), s_mib(st0.mapped),
		       s_mib(bound_map), s_mib(map_max[0]), s_mib(map_max[1]),
		       s_kb_mib(rss0), s_kb_mib(hwm),
		       s_mib(bound_map + FIXED_RSS), s_kb_mib(rss_max[0]),
		       s_kb_mib(rss_max[1]), s_flavour_note());
	}
	return t_result();
}
