// SPDX-License-Identifier: MIT
/*
 * tests/stress/larson_rss.c - Larson with threads constantly replaced: RSS
 * and hakmem's mapped bytes must stop growing once warmed up.
 *
 * Usage: larson_rss.t [--smoke] [seconds]
 *   defaults: 8 s sampled every 0.25 s; --smoke 2 s (4 s under sanitizers
 *   and valgrind) every 0.1 s.
 *
 * As in Larson (Larson & Krishnan, "Memory allocation for long-running
 * server applications"), LANES threads each own an array of NSLOTS blocks
 * of 8..1000 bytes and replace random ones (check, free, malloc, stamp).
 * After ROUND_OPS replacements a thread starts its successor on the same
 * array and exits: the successor frees blocks of a thread that is exiting
 * or gone (remote frees into its slabs, or adoption of its published
 * slabs).  Thousands of threads pass over the same live set of
 * LANES * NSLOTS * ~504 B (~15 MiB; a quarter under sanitizers and
 * valgrind, so that a short run still gets past warm-up), so memory that exited threads leave
 * behind and do not hand on shows up as growth.
 *
 * The main thread samples VmRSS and hak_stats.mapped every interval.
 * Asserted:
 *   - patterns intact, hak_owns() == 1 on every 64th free, no failed malloc;
 *   - at least 20 threads (8 in the smoke run) per lane: the churn happened;
 *   - no growth: max(second half of the samples) <= 1.2 * max(first half)
 *     + 4 MiB (8 under sanitizers/valgrind), for mapped (all flavours) and RSS (release/debug).  The first
 *     half holds the warm-up; a leak of one 64 KiB slab per replaced thread
 *     (several hundred per second) would add tens of MiB per second;
 *   - absolute: mapped_peak <= mapped at start + 8 * live bytes + 32 MiB,
 *     and in release/debug peak RSS - RSS at start <= that + 16 MiB (stacks,
 *     libc).  Random replacement by a succession of threads leaves every
 *     slab partly used (Larson's classic fragmentation); this very program
 *     measured on a 2-core Debian 12 box (hakmem 68e0c49, libmimalloc2.0,
 *     glibc 2.36): hakmem peak RSS ~5.5-6x the live bytes, glibc ~3.8x,
 *     mimalloc ~9x.  The 8x bound only catches gross blow-up; the growth
 *     check is the point.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

#define LANES		4
#define NSLOTS		8000
#define NSLOTS_SLOW	2000	/* under sanitizers/valgrind: warm sooner */
#define MIN_SIZE	8
#define MAX_SIZE	1000
#define ROUND_OPS	(S_SLOW ? 2000 : 20000)	/* a thread's life */
#define MAX_SAMPLES	512
#define GROWTH_FACTOR	1.2
/* valgrind serialises threads: heaps of exiting threads linger while their
 * successors run, and mapped moves in steps of several 2 MiB chunks */
#define GROWTH_CONST	((S_SLOW ? 8 : 4) * S_MiB)
#define FRAG_FACTOR	8

struct slot {
	void *p;
	uint32_t size;
	uint64_t key;
};

struct lane {
	struct slot slot[NSLOTS];	/* nslots used */
	uint64_t seed;			/* the running thread's */
	uint64_t ops, threads;		/* the running thread's, handed on */
	uint64_t live_bytes;
	int idx;
} __attribute__((aligned(64)));

static struct lane lanes[LANES];
static int nslots = S_SLOW ? NSLOTS_SLOW : NSLOTS;
static _Atomic int stop;
static _Atomic int lanes_done;
static _Atomic uint64_t total_ops;

static __attribute__((noreturn, cold, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("larson_rss: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(T_FAIL);
}

static void check_slot(struct lane *l, const struct slot *s, const char *why)
{
	long bad = s_check(s->p, s->size, s->key);

	if (bad >= 0)
		die("lane %d: %s block %p size %u damaged at offset %ld",
		    l->idx, why, s->p, s->size, bad);
}

static void new_block(struct lane *l, struct slot *s, struct t_rng *r)
{
	s->size = (uint32_t)t_rand_range(r, MIN_SIZE, MAX_SIZE);
	s->p = malloc(s->size);
	if (!s->p)
		die("lane %d: malloc(%u) failed", l->idx, s->size);
	s->key = s_key(s->p, s->size, t_rand(r));
	s_fill(s->p, s->size, s->key);
	l->live_bytes += s->size;
}

static void *worker(void *arg)
{
	struct lane *l = arg;
	struct t_rng r;
	pthread_t next;

	t_rng_seed(&r, l->seed);
	for (int k = 0; k < ROUND_OPS; k++) {
		struct slot *s = &l->slot[t_rand(&r) % (unsigned)nslots];

		check_slot(l, s, "inherited or own");
		if ((k & 63) == 0 && hak_owns(s->p) != 1)
			die("lane %d: block %p: hak_owns() != 1", l->idx, s->p);
		l->live_bytes -= s->size;
		free(s->p);
		new_block(l, s, &r);
	}
	l->ops += ROUND_OPS;
	atomic_fetch_add_explicit(&total_ops, ROUND_OPS, memory_order_relaxed);
	if (atomic_load_explicit(&stop, memory_order_acquire)) {
		/* release: main reads the lane after seeing the count */
		atomic_fetch_add_explicit(&lanes_done, 1, memory_order_release);
		return NULL;
	}
	/* Larson: start the successor, then exit with the blocks live */
	l->seed = t_rand(&r);
	l->threads++;
	if (pthread_create(&next, NULL, worker, l) != 0)
		die("lane %d: pthread_create failed after %llu threads",
		    l->idx, (unsigned long long)l->threads);
	pthread_detach(next);
	return NULL;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* max over samples [from, to) */
static double max_of(const double *v, int from, int to)
{
	double m = 0;

	for (int i = from; i < to; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *a_s = t_arg(argc, argv, 0);
	/* valgrind runs only --smoke, and warms up slowly: give it longer */
	double duration = a_s ? atof(a_s) : smoke ? (S_SLOW ? 4.0 : 2.0) : 8.0;
	double interval = smoke ? 0.1 : 0.25;
	uint64_t min_replaced = smoke ? 8 : 20;
	static double rss[MAX_SAMPLES], map[MAX_SAMPLES];
	int n = 0, half;
	uint64_t live = 0, threads = 0, min_threads = UINT64_MAX;
	long rss0, hwm;
	struct hak_stats st0, st;
	double t0, t_end, deadline;
	size_t bound_map;
	double lim_map, lim_rss, m1, m2, r1, r2;

	if (!(duration > 0) || duration / interval >= MAX_SAMPLES)
		die("usage: %s [--smoke] [seconds < %.0f]", argv[0],
		    MAX_SAMPLES * interval);
	s_warm();
	rss0 = t_rss_kb();
	st0 = s_stats();

	/* fill the arrays here: the first threads free the main thread's */
	for (int i = 0; i < LANES; i++) {
		struct t_rng r;

		lanes[i].idx = i;
		lanes[i].seed = 77 + (uint64_t)i;
		t_rng_seed(&r, 1000 + (uint64_t)i);
		for (int k = 0; k < nslots; k++)
			new_block(&lanes[i], &lanes[i].slot[k], &r);
		live += lanes[i].live_bytes;
	}
	t0 = t_now();
	for (int i = 0; i < LANES; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, &lanes[i]) != 0)
			die("pthread_create failed");
		pthread_detach(t);
	}
	t_end = t0 + duration;
	while (n < MAX_SAMPLES) {
		double now;

		sleep_s(interval);
		st = s_stats();
		rss[n] = s_kb_mib(t_rss_kb());
		map[n] = s_mib(st.mapped);
		n++;
		now = t_now();
		if (now >= t_end)
			break;
	}
	atomic_store_explicit(&stop, 1, memory_order_release);
	deadline = t_now() + 30;
	while (atomic_load_explicit(&lanes_done, memory_order_acquire) < LANES) {
		if (t_now() > deadline)
			die("lanes did not stop within 30 s (%d of %d)",
			    atomic_load(&lanes_done), LANES);
		sleep_s(0.001);
	}
	hwm = t_hwm_kb();
	st = s_stats();

	for (int i = 0; i < LANES; i++) {
		threads += lanes[i].threads + 1;
		if (lanes[i].threads + 1 < min_threads)
			min_threads = lanes[i].threads + 1;
		for (int k = 0; k < nslots; k++) {
			check_slot(&lanes[i], &lanes[i].slot[k], "final");
			free(lanes[i].slot[k].p);
		}
	}

	half = n / 2;
	m1 = max_of(map, 0, half);
	m2 = max_of(map, half, n);
	r1 = max_of(rss, 0, half);
	r2 = max_of(rss, half, n);
	lim_map = m1 * GROWTH_FACTOR + s_mib(GROWTH_CONST);
	lim_rss = r1 * GROWTH_FACTOR + s_mib(GROWTH_CONST);
	bound_map = FRAG_FACTOR * (size_t)live + 32 * S_MiB;

	CHECK(n >= 4, "only %d samples", n);
	CHECK(min_threads >= min_replaced,
	      "a lane ran only %llu threads (want >= %llu): no churn",
	      (unsigned long long)min_threads,
	      (unsigned long long)min_replaced);
	CHECK(m2 <= lim_map,
	      "mapped grows: max %.1f MiB in the second half > 1.2 x %.1f + %.0f = %.1f MiB",
	      m2, m1, s_mib(GROWTH_CONST), lim_map);
	CHECK(st.mapped_peak <= st0.mapped + bound_map,
	      "mapped_peak %.1f MiB > start %.1f + %d x live %.1f + 32 MiB",
	      s_mib(st.mapped_peak), s_mib(st0.mapped), FRAG_FACTOR,
	      s_mib(live));
	if (S_RSS_STRICT) {
		CHECK(r2 <= lim_rss,
		      "RSS grows: max %.1f MiB in the second half > 1.2 x %.1f + %.0f = %.1f MiB",
		      r2, r1, s_mib(GROWTH_CONST), lim_rss);
		CHECK((size_t)(hwm - rss0) * S_KiB <= bound_map + 16 * S_MiB,
		      "peak RSS %.1f MiB - start %.1f > bound %.1f MiB",
		      s_kb_mib(hwm), s_kb_mib(rss0),
		      s_mib(bound_map + 16 * S_MiB));
	}
	if (t_failed() || getenv("T_VERBOSE")) {
		fprintf(stderr, "samples (s, RSS MiB, mapped MiB):\n");
		for (int i = 0; i < n; i++)
			fprintf(stderr, "  %.2f %.1f %.1f\n", (i + 1) * interval,
				rss[i], map[i]);
	}
	printf("larson_rss: %d lanes x %d blocks of %d..%d B (live %.1f MiB), %llu threads (>= %llu per lane), %.1fM ops in %.1fs; "
	       "%d samples: mapped max first/second half %.1f/%.1f MiB (limit %.1f), peak %.1f (bound %.1f); "
	       "RSS max first/second half %.1f/%.1f MiB (limit %.1f), start %.1f, peak %.1f%s\n",
	       LANES, nslots, MIN_SIZE, MAX_SIZE, s_mib(live),
	       (unsigned long long)threads, (unsigned long long)min_threads,
	       (double)atomic_load(&total_ops) / 1e6, t_now() - t0, n, m1, m2,
	       lim_map, s_mib(st.mapped_peak), s_mib(st0.mapped + bound_map),
	       r1, r2, lim_rss, s_kb_mib(rss0), s_kb_mib(hwm),
	       s_flavour_note());
	return t_result();
}
