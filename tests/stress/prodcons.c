// SPDX-License-Identifier: MIT
/*
 * tests/stress/prodcons.c - producer/consumer: every free is a remote free.
 *
 * Usage: prodcons.t [--smoke] [blocks_millions]
 *   defaults: 10 M blocks (2 M under sanitizers/valgrind), --smoke 0.3 M.
 *
 * PRODUCERS threads malloc blocks of 16..512 bytes (uniform), stamp them
 * and pass them through bounded single-producer/single-consumer rings, one
 * per (producer, consumer) pair, to CONSUMERS threads that check and free
 * them.  Consumers never allocate, so every free lands on a slab owned by a
 * live producer: hakmem's remote queue, drained by the producer when it
 * refills.  If remote-freed blocks were not reused, 10 M blocks of ~264 B
 * would need ~2.6 GiB; reused, memory tracks the blocks in flight.
 *
 * The bound.  At most IN_FLIGHT = PRODUCERS * CONSUMERS * RING_CAP blocks
 * exist at once (the rings, plus one block per producer being stamped and
 * per consumer being checked), each at most 512 bytes of slab, so live
 * bytes <= IN_FLIGHT * 512 = 16 MiB.  On top of that a producer's slabs
 * hold blocks freed but not yet drained and blocks on free lists; allow the
 * same again (slack factor 2), plus for each producer and each of the 16
 * classes up to 16..512 two slabs of 64 KiB that may be partly used
 * (4 MiB), plus 2 MiB-chunk rounding (8 MiB):
 *
 *   mapped_peak (hak_stats)  <= 2 * 16 MiB + 4 MiB + 8 MiB  = 44 MiB
 *   VmHWM - VmRSS at start   <= the same + 16 MiB fixed (thread stacks,
 *                               libc, page tables)          = 60 MiB
 *
 * Each block carries (pointer, size, sequence) in its first two words and a
 * check word at its end; consumers verify all three and every 64th block's
 * hak_owns() and usable size, so a block handed out twice or damaged while
 * in flight fails the test.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "stress.h"

#define PRODUCERS	2
#define CONSUMERS	2
#define RING_CAP	8192		/* power of two */
#define IN_FLIGHT	(PRODUCERS * CONSUMERS * RING_CAP)
#define MIN_SIZE	16
#define MAX_SIZE	512
#define NCLASS_USED	16		/* classes 16..128 step 16, 160..512 */
#define SPREAD		64		/* blocks to one consumer in a row */

#define BOUND_MAPPED	(2 * (size_t)IN_FLIGHT * MAX_SIZE + \
			 (size_t)PRODUCERS * NCLASS_USED * 2 * 64 * S_KiB + \
			 8 * S_MiB)
#define BOUND_RSS	(BOUND_MAPPED + 16 * S_MiB)

#define STAMP		0x5052434f4e530000ull	/* "PRCONS" */

struct ring {
	_Atomic size_t head __attribute__((aligned(64)));	/* consumer */
	size_t tail_seen;				/* consumer's copy */
	_Atomic size_t tail __attribute__((aligned(64)));	/* producer */
	size_t head_seen;				/* producer's copy */
	_Atomic int done;
	void *slot[RING_CAP] __attribute__((aligned(64)));
};

static struct ring *rings;	/* [PRODUCERS][CONSUMERS] */
static uint64_t per_producer;

struct pstat {
	uint64_t made, bytes, full_waits;
} __attribute__((aligned(64)));
struct cstat {
	uint64_t freed, checked_owns;
} __attribute__((aligned(64)));
static struct pstat pstats[PRODUCERS];
static struct cstat cstats[CONSUMERS];

static struct ring *ring_of(int p, int c)
{
	return &rings[p * CONSUMERS + c];
}

static __attribute__((noreturn, cold, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("prodcons: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(T_FAIL);
}

static inline void stamp(uint64_t *b, size_t size, uint64_t seq)
{
	b[0] = (uintptr_t)b ^ STAMP;
	b[1] = (seq << 16) | size;
	if (size >= 24)	/* else the tail would overlap word 1 */
		memcpy((char *)b + size - 8, &(uint64_t){ t_mix64(b[1]) }, 8);
}

static void *producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct pstat *st = &pstats[id];
	struct t_rng r;
	int c = id % CONSUMERS;

	t_rng_seed(&r, 0x1234 + (uint64_t)id);
	for (uint64_t n = 0; n < per_producer; n++) {
		size_t size = (size_t)t_rand_range(&r, MIN_SIZE, MAX_SIZE);
		uint64_t *b = malloc(size);
		struct ring *q;
		size_t t;

		if (!b)
			die("producer %d: malloc(%zu) failed", id, size);
		if ((uintptr_t)b & 15)
			die("producer %d: malloc(%zu) = %p misaligned", id, size,
			    (void *)b);
		stamp(b, size, n * PRODUCERS + (uint64_t)id);
		if (n % SPREAD == 0)
			c = (c + 1) % CONSUMERS;
		q = ring_of(id, c);
		t = atomic_load_explicit(&q->tail, memory_order_relaxed);
		while (t - q->head_seen >= RING_CAP) {
			q->head_seen = atomic_load_explicit(&q->head,
						memory_order_acquire);
			if (t - q->head_seen >= RING_CAP) {
				st->full_waits++;
				sched_yield();
			}
		}
		q->slot[t & (RING_CAP - 1)] = b;
		/* release: the consumer sees the stamp with the slot */
		atomic_store_explicit(&q->tail, t + 1, memory_order_release);
		st->made++;
		st->bytes += size;
	}
	for (int k = 0; k < CONSUMERS; k++)
		atomic_store_explicit(&ring_of(id, k)->done, 1,
				      memory_order_release);
	return NULL;
}

static void consume(int id, void *p)
{
	uint64_t *b = p;
	size_t size = (size_t)(b[1] & 0xffff);
	uint64_t tail = 0;
	struct cstat *st = &cstats[id];

	if (b[0] != ((uintptr_t)b ^ STAMP) || size < MIN_SIZE ||
	    size > MAX_SIZE)
		die("consumer %d: block %p: bad stamp %#llx/%#llx (handed out twice?)",
		    id, p, (unsigned long long)b[0], (unsigned long long)b[1]);
	if (size >= 24) {
		memcpy(&tail, (char *)b + size - 8, 8);
		if (tail != t_mix64(b[1]))
			die("consumer %d: block %p size %zu: tail word damaged",
			    id, p, size);
	}
	if ((st->freed & 63) == 0) {
		if (hak_owns(p) != 1)
			die("consumer %d: block %p: hak_owns() != 1", id, p);
		if (s_usable(p) < size)
			die("consumer %d: block %p: usable %zu < %zu", id, p,
			    s_usable(p), size);
		st->checked_owns++;
	}
	b[0] = 0;	/* a second hand-out of this block must re-stamp it */
	free(p);
	st->freed++;
}

static void *consumer(void *arg)
{
	int id = (int)(intptr_t)arg;
	int idle = 0;

	for (;;) {
		bool any = false, all_done = true;

		for (int p = 0; p < PRODUCERS; p++) {
			struct ring *q = ring_of(p, id);
			int done = atomic_load_explicit(&q->done,
						memory_order_acquire);
			size_t h = atomic_load_explicit(&q->head,
						memory_order_relaxed);
			size_t n = 0;

			q->tail_seen = atomic_load_explicit(&q->tail,
						memory_order_acquire);
			while (h != q->tail_seen && n < 256) {
				consume(id, q->slot[h & (RING_CAP - 1)]);
				h++;
				n++;
				if ((n & 31) == 0)
					atomic_store_explicit(&q->head, h,
						memory_order_release);
			}
			atomic_store_explicit(&q->head, h,
					      memory_order_release);
			if (n)
				any = true;
			if (!done || h != q->tail_seen)
				all_done = false;
		}
		if (all_done)
			break;
		if (!any && ++idle > 16) {
			sched_yield();
			idle = 0;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *a_m = t_arg(argc, argv, 0);
	double mblocks = a_m ? atof(a_m) : smoke ? 0.3 : S_SLOW ? 2.0 : 10.0;
	pthread_t pt[PRODUCERS], ct[CONSUMERS];
	uint64_t made = 0, freed = 0, bytes = 0, waits = 0, owns = 0;
	long rss0, hwm;
	struct hak_stats st0, st;
	double t0, secs;

	if (!(mblocks > 0))
		die("usage: %s [--smoke] [blocks_millions]", argv[0]);
	per_producer = (uint64_t)(mblocks * 1e6 / PRODUCERS + 0.5);

	rings = aligned_alloc(64, sizeof(*rings) * PRODUCERS * CONSUMERS);
	if (!rings)
		die("out of memory for the rings");
	memset(rings, 0, sizeof(*rings) * PRODUCERS * CONSUMERS);
	if (hak_owns(rings) != 1)
		die("the rings (%p) are not hakmem's: malloc is not hakmem",
		    (void *)rings);

	rss0 = t_rss_kb();
	st0 = s_stats();
	t0 = t_now();
	for (int i = 0; i < CONSUMERS; i++)
		if (pthread_create(&ct[i], NULL, consumer, (void *)(intptr_t)i))
			die("pthread_create failed");
	for (int i = 0; i < PRODUCERS; i++)
		if (pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i))
			die("pthread_create failed");
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(pt[i], NULL);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(ct[i], NULL);
	secs = t_now() - t0;
	hwm = t_hwm_kb();
	st = s_stats();

	for (int i = 0; i < PRODUCERS; i++) {
		made += pstats[i].made;
		bytes += pstats[i].bytes;
		waits += pstats[i].full_waits;
	}
	for (int i = 0; i < CONSUMERS; i++) {
		freed += cstats[i].freed;
		owns += cstats[i].checked_owns;
	}
	free(rings);

	CHECK(made == per_producer * PRODUCERS && freed == made,
	      "%llu blocks made, %llu freed, %llu expected",
	      (unsigned long long)made, (unsigned long long)freed,
	      (unsigned long long)(per_producer * PRODUCERS));
	CHECK(st.mapped_peak <= st0.mapped + BOUND_MAPPED,
	      "hak_stats mapped_peak %.1f MiB > %.1f MiB at start + bound %.1f MiB: remote-freed blocks not reused?",
	      s_mib(st.mapped_peak), s_mib(st0.mapped), s_mib(BOUND_MAPPED));
	if (S_RSS_STRICT)
		CHECK(rss0 > 0 && hwm > 0 &&
		      (size_t)(hwm - rss0) * S_KiB <= BOUND_RSS,
		      "peak RSS %.1f MiB - start RSS %.1f MiB = %.1f MiB > bound %.1f MiB: remote-freed blocks not reused?",
		      s_kb_mib(hwm), s_kb_mib(rss0), s_kb_mib(hwm - rss0),
		      s_mib(BOUND_RSS));

	printf("prodcons: %dP/%dC, %.2fM blocks (%.0f MiB) all freed remotely in %.2fs (%.1fM/s), in flight <= %d blocks (<= %.0f MiB); "
	       "mapped peak %.1f MiB (start %.1f, bound +%.0f); RSS start %.1f MiB, peak %.1f MiB (+%.1f, bound +%.0f)%s; "
	       "heaps %zu; %llu owns checks, %llu full-ring waits\n",
	       PRODUCERS, CONSUMERS, (double)made / 1e6, s_mib(bytes), secs,
	       (double)made / 1e6 / secs, IN_FLIGHT,
	       s_mib((size_t)IN_FLIGHT * MAX_SIZE), s_mib(st.mapped_peak),
	       s_mib(st0.mapped), s_mib(BOUND_MAPPED), s_kb_mib(rss0),
	       s_kb_mib(hwm), s_kb_mib(hwm - rss0), s_mib(BOUND_RSS),
	       s_flavour_note(), st.heaps, (unsigned long long)owns,
	       (unsigned long long)waits);
	return t_result();
}
