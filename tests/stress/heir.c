// SPDX-License-Identifier: MIT
/*
 * tests/stress/heir.c - memory of exited threads comes back without
 * malloc_trim: a thread that frees what exited threads left behind (their
 * heir) must not keep the emptied slabs (DESIGN invariant 8).
 *
 * Usage: heir.t [--smoke] [MiB per round]
 *   defaults: 256 MiB (32 under sanitizers/valgrind), --smoke 32 MiB;
 *   8 rounds (4 in the smoke run).
 *
 * A round: PRODUCERS threads each allocate their share of the round's
 * bytes (sizes 16..1024 B and 1..128 KiB: every slab class, the largest
 * included; tests/stress/exit_classes.c takes them one by one), write a
 * pattern and exit, so their slabs are published to the mailbox.  Then one
 * heir checks and frees every block: the main thread in even rounds, a
 * consumer thread in odd rounds that stays alive (waiting on a barrier)
 * while main measures.  The heir allocates nothing, so nothing but the
 * frees themselves may give the memory back.
 *
 * Asserted, with M0 = hak_stats.mapped before the first round:
 *   - after each round's frees, with the heir still alive and no trim:
 *     mapped <= M0 + BOUND, BOUND = 16 MiB: the superslab box's cache of
 *     empty chunks (4 x 2 MiB) and partly used chunks of the main thread;
 *     before the fix a heir kept every slab it freed into (+1 GiB a round);
 *   - round 0 really allocated: its mapped_peak P0 >= M0 + 0.9 x round
 *     bytes;
 *   - later rounds reuse the earlier rounds' memory: mapped_peak <= M0 +
 *     2 x round bytes + 2 x BOUND.  A round's own peak is its bytes plus
 *     each producer's last, partly used slab of each of the 48 classes
 *     (spans up to 2 MiB: a chunk each for the four classes above 64 KiB)
 *     in chunks shared only by classes of one span: 2-2.3x the bytes at
 *     the smoke run's 32 MiB (1.8-1.9x while sizes stopped at 96 KiB),
 *     depending on how the producers interleave; without reuse the old
 *     heir kept 5x by round 4.
 *   - every pattern intact.
 */
#include <pthread.h>

#include "stress.h"

#define PRODUCERS	4
#define BOUND		(16 * S_MiB)

struct blk {
	void *p;
	size_t size;
	uint64_t key;
};

struct share {
	pthread_t tid;
	struct blk *b;
	size_t n, cap, bytes, want;
	uint64_t seed;
};

static struct share shares[PRODUCERS];
static pthread_barrier_t freed, measured;

static void *produce(void *arg)
{
	struct share *s = arg;
	struct t_rng r;

	t_rng_seed(&r, s->seed);
	s->n = s->bytes = 0;
	while (s->bytes < s->want) {
		struct blk *b;

		if (s->n == s->cap)
			t_die("heir: table full (%zu blocks)", s->cap);
		b = &s->b[s->n++];
		b->size = t_chance(&r, 50) ?
			(size_t)t_rand_range(&r, 16, 1024) :
			(size_t)t_rand_range(&r, 1025, 128 * S_KiB);
		b->p = malloc(b->size);
		if (!b->p)
			t_die("heir: malloc(%zu) failed", b->size);
		b->key = s_key(b->p, b->size, s->n);
		s_fill(b->p, b->size, b->key);
		s->bytes += b->size;
	}
	return NULL;
}

static void free_all(void)
{
	for (int i = 0; i < PRODUCERS; i++)
		for (size_t k = 0; k < shares[i].n; k++) {
			struct blk *b = &shares[i].b[k];
			long bad = s_check(b->p, b->size, b->key);

			if (bad >= 0)
				t_die("heir: block %p (%zu B) of producer %d corrupted at offset %ld",
				    b->p, b->size, i, bad);
			free(b->p);
		}
}

static void *consume(void *arg)
{
	(void)arg;
	free_all();
	pthread_barrier_wait(&freed);	/* main measures now */
	pthread_barrier_wait(&measured);
	return NULL;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *arg = t_arg(argc, argv, 1);
	size_t mib = arg ? strtoul(arg, NULL, 0) :
		     (smoke || S_SLOW) ? 32 : 256;
	size_t total = mib * S_MiB, cap = total / 512 / PRODUCERS + 1024;
	unsigned rounds = smoke ? 4 : 8;
	size_t worst = 0, peak0 = 0;
	struct hak_stats st0, st;

	if (mib < 4)
		t_die("heir: usage: %s [--smoke] [MiB per round >= 4]", argv[0]);
	for (int i = 0; i < PRODUCERS; i++) {
		shares[i].cap = cap;
		shares[i].b = s_table(cap * sizeof(struct blk));
		shares[i].want = total / PRODUCERS;
	}
	pthread_barrier_init(&freed, NULL, 2);
	pthread_barrier_init(&measured, NULL, 2);
	s_warm();
	st0 = s_stats();

	for (unsigned r = 0; r < rounds; r++) {
		pthread_t heir;
		bool by_thread = r & 1;

		for (int i = 0; i < PRODUCERS; i++) {
			shares[i].seed = r * PRODUCERS + (unsigned)i + 1;
			if (pthread_create(&shares[i].tid, NULL, produce,
					   &shares[i]))
				t_die("heir: pthread_create failed");
		}
		for (int i = 0; i < PRODUCERS; i++)
			pthread_join(shares[i].tid, NULL);
		if (by_thread) {
			if (pthread_create(&heir, NULL, consume, NULL))
				t_die("heir: pthread_create failed");
			pthread_barrier_wait(&freed);
		} else {
			free_all();
		}
		st = s_stats_idle(st0.mapped + BOUND);
		if (r == 0)
			peak0 = st.mapped_peak;
		if (st.mapped - st0.mapped > worst)
			worst = st.mapped - st0.mapped;
		CHECK(st.mapped <= st0.mapped + BOUND,
		      "round %u: after the %s freed everything, mapped %.1f MiB > start %.1f + %.0f MiB: the heir kept emptied slabs",
		      r, by_thread ? "consumer thread" : "main thread",
		      s_mib(st.mapped), s_mib(st0.mapped), s_mib(BOUND));
		if (by_thread) {
			pthread_barrier_wait(&measured);
			pthread_join(heir, NULL);
		}
	}
	st = s_stats();
	CHECK(peak0 >= st0.mapped + total / 10 * 9,
	      "round 0: mapped_peak %.1f MiB < start %.1f + 0.9 x %zu MiB: the allocations did not happen?",
	      s_mib(peak0), s_mib(st0.mapped), mib);
	CHECK(st.mapped_peak <= st0.mapped + 2 * total + 2 * BOUND,
	      "mapped_peak %.1f MiB > start %.1f + 2 x %zu MiB + %.0f MiB: later rounds do not reuse memory",
	      s_mib(st.mapped_peak), s_mib(st0.mapped), mib, s_mib(2 * BOUND));
	printf("heir: %u rounds of %zu MiB by %d producers; after the frees mapped at most start + %.1f MiB (bound %.0f); mapped peak %.1f MiB, round 0's %.1f (start %.1f)\n",
	       rounds, mib, PRODUCERS, s_mib(worst), s_mib(BOUND),
	       s_mib(st.mapped_peak), s_mib(peak0), s_mib(st0.mapped));
	return t_result();
}
