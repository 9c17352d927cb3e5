// SPDX-License-Identifier: MIT
/*
 * unit/remote/mailbox.c - the publish/adopt protocol (remote/remote.h,
 * docs/DESIGN.md invariants 4-6) under races, through the internal API.
 *
 * Usage: mailbox.t [--smoke]
 *
 * Fake slabs come from hak_ss_acquire() and are published in the largest
 * tiny class, TEST_CLS (128 KiB blocks): nothing in this program allocates
 * that size, so no real heap takes from or publishes to that class while
 * the test runs.  Owners are fake too: distinct 64-byte-aligned addresses
 * that are no heap.
 *
 *  1. adopt race: one published slab, RACERS threads released together
 *     (a barrier, then a spinning start line), in turn all calling
 *     hak_mbox_adopt() on it, all hak_mbox_take() on the class, or some
 *     each.  Every round exactly one wins, the tag
 *     names the winner and is no longer PUBLISHED, the mailbox count is back
 *     to where it was.
 *  2. take race: NSLABS slabs published, RACERS threads take until the
 *     class is empty (some adopt named slabs instead).  Every slab is won
 *     exactly once.
 *  3. migrating owner: PUSHERS threads hak_remote_push() every block of a
 *     slab exactly once, slowly, while OWNERS threads pass the slab around:
 *     the owner drains (into the slab's free list and a seen-map, both
 *     owner-only, plain memory: TSan checks the hand-over orders them),
 *     sometimes publishes it; the others adopt it, then drain (adopt order:
 *     CAS -> drain -> bind).  Publish happens while remote frees arrive.
 *     At the end every block was drained exactly once, by whoever owned the
 *     slab at the time (each drain checks the tag names the drainer), and
 *     the free list holds each block once.
 *  4. real front end: a thread allocates blocks that another thread frees
 *     as they arrive, and exits (publishing its slabs) while the frees go
 *     on (remote pushes into published slabs, adoption by free).  Repeated
 *     ROUNDS4 times, hakmem's mapped bytes must not grow after round 2:
 *     every block freed this way becomes reusable.
 */
#include <pthread.h>
#include <sched.h>

#include "hakmem.h"
#include "helpers.h"
#include "remote/remote.h"
#include "superslab/superslab.h"
#include "unit/remote/fake_slab.h"
#include "tiny/tiny.h"

#define TEST_CLS	(TINY_NCLASS - 1)
#define RACERS		3
#define NSLABS		8
#define PUSHERS		2
#define OWNERS		2

struct fake_owner {
	char pad[64];
} __attribute__((aligned(64)));

/* [0]: the publisher; [1 + i]: racer / owner thread i */
static struct fake_owner owners[1 + RACERS + OWNERS];

static uintptr_t owner_val(int i)
{
	return (uintptr_t)&owners[i];
}

static uintptr_t tag_of(struct hak_slab *s)
{
	return atomic_load_explicit(&s->owner_tag, memory_order_acquire);
}

/* publish_fake - make @s owned by the fake publisher, then publish it */
static void publish_fake(struct hak_slab *s)
{
	s->cls = (uint8_t)TEST_CLS;
	atomic_store_explicit(&s->owner_tag, owner_val(0),
			      memory_order_relaxed);
	hak_mbox_publish(TEST_CLS, s);
}

/* ---- 1 and 2: adopt / take races ---------------------------------------- */

static pthread_barrier_t bar;
static struct hak_slab *race_slabs[NSLABS];
static int race_nslabs, race_rounds, nracers;	/* set by main */
/* per round results, written by racers between the barriers */
static struct hak_slab *won[RACERS][NSLABS + 1];
static int nwon[RACERS];
static unsigned long lost[RACERS];	/* adopts that saw PUBLISHED, lost */

/*
 * A barrier wakes its waiters one by one; for a tight race the racers then
 * meet at a start line: the last to arrive opens it while the others spin
 * (yielding now and then: there may be more racers than free cores).
 */
static _Atomic int armed, go;

static void start_line(int r, struct t_rng *rng)
{
	unsigned jitter = (unsigned)(t_rand(rng) % 256);

	if (atomic_fetch_add_explicit(&armed, 1, memory_order_acq_rel) + 1 ==
	    nracers * (r + 1)) {
		atomic_store_explicit(&go, r + 1, memory_order_release);
		/* the opener is ahead by the store's trip to the others */
		jitter += 200;
	} else {
		for (unsigned spin = 1; atomic_load_explicit(&go,
				memory_order_acquire) <= r; spin++)
			if (spin % 65536 == 0)
				sched_yield();
	}
	/* a random head start, so that any racer may win */
	for (volatile unsigned i = 0; i < jitter; i++)
		;
}

static bool any_published(void)
{
	for (int k = 0; k < race_nslabs; k++)
		if (tag_of(race_slabs[k]) & HAK_TAG_PUBLISHED)
			return true;
	return false;
}

static void *racer(void *arg)
{
	int id = (int)(intptr_t)arg;
	uintptr_t me = owner_val(1 + id);
	struct t_rng rng;

	t_rng_seed(&rng, 1 + (uint64_t)id);
	for (int r = 0; r < race_rounds; r++) {
		pthread_barrier_wait(&bar);	/* slabs published */
		nwon[id] = 0;
		start_line(r, &rng);
		for (;;) {
			struct hak_slab *s = NULL;

			/* rounds: all adopt, all take, or mixed */
			if (r % 3 == 0 || (r % 3 == 2 && id % 2)) {
				/* adopt a named slab: the first still out */
				for (int k = 0; k < race_nslabs && !s; k++) {
					if (!(tag_of(race_slabs[k]) &
					      HAK_TAG_PUBLISHED))
						continue;
					if (hak_mbox_adopt(TEST_CLS,
							   race_slabs[k], me))
						s = race_slabs[k];
					else
						lost[id]++;
				}
			} else {
				s = hak_mbox_take(TEST_CLS, me);
			}
			if (!s) {
				if (!any_published())
					break;	/* all gone: round over */
				continue;
			}
			if (nwon[id] <= NSLABS)
				won[id][nwon[id]] = s;
			nwon[id]++;
		}
		pthread_barrier_wait(&bar);	/* results ready */
	}
	return NULL;
}

static void test_races(int rounds, int nslabs, int n, const char *name)
{
	pthread_t t[RACERS];
	size_t base = hak_mbox_count();
	unsigned long wins_by[RACERS] = { 0 }, contended = 0, f0 = t_failed();

	race_rounds = rounds;
	race_nslabs = nslabs;
	nracers = n;
	atomic_store(&armed, 0);
	atomic_store(&go, 0);
	memset(lost, 0, sizeof(lost));
	for (int k = 0; k < nslabs; k++) {
		race_slabs[k] = fake_slab(16, 64);
		if (!race_slabs[k])
			t_die("hak_ss_acquire failed");
	}
	if (pthread_barrier_init(&bar, NULL, (unsigned)n + 1))
		t_die("pthread_barrier_init failed");
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, racer, (void *)(intptr_t)i))
			t_die("pthread_create failed");

	for (int r = 0; r < rounds; r++) {
		int total = 0;

		for (int k = 0; k < nslabs; k++) {
			publish_fake(race_slabs[k]);
			CHECK((tag_of(race_slabs[k]) & HAK_TAG_PUBLISHED) &&
			      !(tag_of(race_slabs[k]) & HAK_TAG_OWNER_MASK),
			      "%s round %d: published tag %#lx", name, r,
			      (unsigned long)tag_of(race_slabs[k]));
		}
		CHECK(hak_mbox_count() == base + (size_t)nslabs,
		      "%s round %d: mailbox count %zu, want %zu", name, r,
		      hak_mbox_count(), base + (size_t)nslabs);
		pthread_barrier_wait(&bar);	/* published: go */
		pthread_barrier_wait(&bar);	/* done */

		for (int k = 0; k < nslabs; k++) {
			struct hak_slab *s = race_slabs[k];
			uintptr_t tag = tag_of(s);
			int winners = 0, who = -1;

			for (int i = 0; i < n; i++)
				for (int w = 0; w < nwon[i] && w <= NSLABS; w++)
					if (won[i][w] == s) {
						winners++;
						who = i;
					}
			if (!CHECK(winners == 1,
				   "%s round %d: slab %d adopted by %d threads",
				   name, r, k, winners))
				continue;
			wins_by[who]++;
			CHECK(!(tag & HAK_TAG_PUBLISHED) &&
			      (tag & HAK_TAG_OWNER_MASK) == owner_val(1 + who),
			      "%s round %d: slab %d won by racer %d but tagged %#lx",
			      name, r, k, who, (unsigned long)tag);
		}
		for (int i = 0; i < n; i++)
			total += nwon[i];
		CHECK(total == nslabs, "%s round %d: %d wins for %d slabs",
		      name, r, total, nslabs);
		CHECK(hak_mbox_count() == base,
		      "%s round %d: mailbox count %zu after all adopted, want %zu",
		      name, r, hak_mbox_count(), base);
		/* no early exit: the racers wait at the barrier each round */
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		contended += lost[i];
	}
	pthread_barrier_destroy(&bar);
	for (int k = 0; k < nslabs; k++) {
		/* adopted, not published: ours to give back */
		atomic_store_explicit(&race_slabs[k]->owner_tag, owner_val(0),
				      memory_order_relaxed);
		fake_release(race_slabs[k]);
	}
	printf("mailbox: %s: %d rounds x %d slab(s), %d racers: %s (wins by racer: %lu/%lu/%lu; %lu adopts lost to a racer after seeing PUBLISHED)\n",
	       name, rounds, nslabs, n,
	       t_failed() == f0 ? "exactly one winner per slab every round" :
	       "FAILED", wins_by[0], wins_by[1], wins_by[2], contended);
}

/* ---- 3: pushes racing with drains and with publish/adopt ---------------- */

static struct hak_slab *mslab;
static uint32_t mblocks;
static unsigned char *seen;		/* owner-only: plain */
static unsigned long drained;		/* owner-only: plain */
static _Atomic int pushers_done;
static _Atomic int finished;

struct owner_stats {
	unsigned long drains, publishes, adopts, failed_adopts, bad_tag;
};

static void sink(void *ctx, void *blk)
{
	char *start = hak_ss_slab_start(mslab);
	size_t off = (size_t)((char *)blk - start);

	(void)ctx;
	if (off % mslab->stride || off / mslab->stride >= mblocks) {
		CHECK(0, "drained a stray block %p", blk);
		return;
	}
	seen[off / mslab->stride]++;
	drained++;
	/* the owner's free list: owner-only field, plain */
	hak_ss_link_push(mslab, blk, mslab->free);
	mslab->free = blk;
}

static void *pusher(void *arg)
{
	int id = (int)(intptr_t)arg;
	char *start = hak_ss_slab_start(mslab);

	for (uint32_t k = (uint32_t)id, n = 0; k < mblocks;
	     k += PUSHERS, n++) {
		hak_remote_push(mslab, start + (size_t)k * mslab->stride);
		/* spread the pushes over many publish/adopt cycles */
		for (volatile int spin = 0; spin < 64; spin++)
			;
		if (n % 256 == 255)
			sched_yield();
	}
	atomic_fetch_add_explicit(&pushers_done, 1, memory_order_release);
	return NULL;
}

static void *owner_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	uintptr_t me = owner_val(1 + RACERS + id);
	struct owner_stats *st = calloc(1, sizeof(*st));
	struct t_rng r;
	bool mine = id == 0;	/* main made owner 0 the first owner */

	t_rng_seed(&r, 31 + (uint64_t)id);
	while (!atomic_load_explicit(&finished, memory_order_acquire)) {
		if (!mine) {
			if (hak_mbox_adopt(TEST_CLS, mslab, me)) {
				mine = true;
				st->adopts++;
			} else {
				for (volatile int spin = 0; spin < 256; spin++)
					;
				if (++st->failed_adopts % 16 == 0)
					sched_yield();	/* let the pushers run */
				continue;
			}
		}
		/* owner: the tag must name us (and we drain right after an
		 * adopt: CAS -> drain -> bind) */
		uintptr_t tag = tag_of(mslab);

		if ((tag & HAK_TAG_OWNER_MASK) != me ||
		    (tag & HAK_TAG_PUBLISHED)) {
			st->bad_tag++;
			CHECK(0, "owner %d drains a slab tagged %#lx", id,
			      (unsigned long)tag);
		}
		int done = atomic_load_explicit(&pushers_done,
						memory_order_acquire) == PUSHERS;

		unsigned n = hak_remote_drain(mslab, sink, NULL);

		st->drains++;
		if (done) {
			/* every push happened before `done`: all drained */
			CHECK(!hak_remote_pending(mslab),
			      "queue not empty after the final drain");
			atomic_store_explicit(&finished, 1,
					      memory_order_release);
			break;
		}
		if (t_rand(&r) % 4 == 0) {
			hak_mbox_publish(TEST_CLS, mslab);
			mine = false;
			st->publishes++;
		} else if (!n) {
			for (volatile int spin = 0; spin < 256; spin++)
				;
		}
	}
	return st;
}

static void test_migrating_owner(int rounds)
{
	unsigned long drains = 0, publishes = 0, adopts = 0, f0 = t_failed();
	size_t base = hak_mbox_count();

	mslab = fake_slab(16, 16);
	if (!mslab)
		t_die("hak_ss_acquire failed");
	mblocks = mslab->capacity;
	seen = calloc(mblocks, 1);
	if (!seen)
		t_die("calloc failed");

	for (int r = 0; r < rounds; r++) {
		pthread_t pt[PUSHERS], ot[OWNERS];
		unsigned long listed = 0, dups = 0;

		memset(seen, 0, mblocks);
		drained = 0;
		mslab->free = NULL;
		mslab->cls = (uint8_t)TEST_CLS;
		atomic_store(&pushers_done, 0);
		atomic_store(&finished, 0);
		atomic_store_explicit(&mslab->owner_tag,
				      owner_val(1 + RACERS + 0),
				      memory_order_relaxed);
		for (int i = 0; i < OWNERS; i++)
			if (pthread_create(&ot[i], NULL, owner_thread,
					   (void *)(intptr_t)i))
				t_die("pthread_create failed");
		for (int i = 0; i < PUSHERS; i++)
			if (pthread_create(&pt[i], NULL, pusher,
					   (void *)(intptr_t)i))
				t_die("pthread_create failed");
		for (int i = 0; i < PUSHERS; i++)
			pthread_join(pt[i], NULL);
		for (int i = 0; i < OWNERS; i++) {
			struct owner_stats *st;

			pthread_join(ot[i], (void **)&st);
			drains += st->drains;
			publishes += st->publishes;
			adopts += st->adopts;
			free(st);
		}

		CHECK(drained == mblocks,
		      "round %d: %lu blocks drained of %u pushed", r, drained,
		      mblocks);
		for (uint32_t k = 0; k < mblocks; k++)
			if (seen[k] != 1) {
				CHECK(0, "round %d: block %u drained %u times", r,
				      k, seen[k]);
				break;
			}
		/* the free list the owners built: each block once */
		memset(seen, 0, mblocks);
		for (void *b = mslab->free; b && listed <= mblocks;
		     b = hak_ss_link_next(mslab, b)) {
			size_t off = (size_t)((char *)b -
					      hak_ss_slab_start(mslab));

			if (seen[off / mslab->stride]++)
				dups++;
			listed++;
		}
		CHECK(listed == mblocks && !dups,
		      "round %d: free list holds %lu blocks (%lu duplicates), want %u",
		      r, listed, dups, mblocks);
		CHECK(!(tag_of(mslab) & HAK_TAG_PUBLISHED) &&
		      hak_mbox_count() == base,
		      "round %d: slab still published at the end (tag %#lx)",
		      r, (unsigned long)tag_of(mslab));
		if (t_failed())
			break;
	}
	CHECK(publishes > 0 && adopts > 0,
	      "the slab never changed hands (%lu publishes, %lu adopts)",
	      publishes, adopts);
	mslab->free = NULL;
	atomic_store_explicit(&mslab->owner_tag, owner_val(0),
			      memory_order_relaxed);
	fake_release(mslab);
	free(seen);
	printf("mailbox: pushes vs drain vs publish/adopt: %d rounds x %u blocks, %d pushers, %d owners: %s "
	       "(%lu drains, %lu publishes, %lu adopts)\n",
	       rounds, mblocks, PUSHERS, OWNERS,
	       t_failed() == f0 ? "each block drained once by the tagged owner" :
	       "FAILED", drains, publishes, adopts);
}

/* ---- 4: the real front end: exit (publish) while remote frees arrive ---- */

#define FRONT_BLOCKS	20000
#define FRONT_SIZE	48

static void *volatile front_slot[FRONT_BLOCKS];
static _Atomic int front_made;

static void *front_alloc(void *arg)
{
	(void)arg;
	for (int i = 0; i < FRONT_BLOCKS; i++) {
		void *p = malloc(FRONT_SIZE);

		if (!p)
			t_die("malloc failed");
		memset(p, 0xa5, FRONT_SIZE);
		front_slot[i] = p;
		atomic_store_explicit(&front_made, i + 1,
				      memory_order_release);
	}
	return NULL;	/* exits (publishes) while the freer goes on */
}

static void *front_free(void *arg)
{
	unsigned long *bad = arg;

	for (int i = 0; i < FRONT_BLOCKS; i++) {
		unsigned char *p;

		while (atomic_load_explicit(&front_made,
					    memory_order_acquire) <= i)
			sched_yield();
		p = front_slot[i];
		if (hak_owns(p) != 1 || p[0] != 0xa5 ||
		    p[FRONT_SIZE - 1] != 0xa5)
			(*bad)++;
		/* some frees lag behind: they land after the exit */
		free(p);
	}
	return NULL;
}

static void test_front(int rounds)
{
	size_t map2 = 0, map_max = 0;
	unsigned long bad = 0;

	for (int r = 0; r < rounds; r++) {
		pthread_t a, f;
		struct hak_stats st;

		atomic_store(&front_made, 0);
		if (pthread_create(&f, NULL, front_free, &bad) ||
		    pthread_create(&a, NULL, front_alloc, NULL))
			t_die("pthread_create failed");
		pthread_join(a, NULL);
		pthread_join(f, NULL);
		hak_stats_get(&st);
		if (r == 1)
			map2 = st.mapped;
		if (r >= 1 && st.mapped > map_max)
			map_max = st.mapped;
	}
	CHECK(!bad, "%lu blocks damaged or not hakmem's", bad);
	CHECK(map_max <= map2 + 4 * ((size_t)1 << 20),
	      "mapped grows over rounds: %zu KiB after round 2, up to %zu KiB later (%d rounds x %d blocks of %d B)",
	      map2 >> 10, map_max >> 10, rounds, FRONT_BLOCKS, FRONT_SIZE);
	printf("mailbox: exit while remote frees arrive: %d rounds x %d blocks of %d B, mapped %zu KiB after round 2, max %zu KiB after (slack 4096)\n",
	       rounds, FRONT_BLOCKS, FRONT_SIZE, map2 >> 10, map_max >> 10);
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	bool slow = false;

#if T_TSAN || T_ASAN
	slow = true;
#endif
#if defined(HAK_VALGRIND) && HAK_VALGRIND
	slow = true;
#endif
	/* as many racers as a 2-core box runs at once, then more */
	test_races(smoke ? 300 : slow ? 1000 : 5000, 1, 2, "adopt race");
	test_races(smoke ? 300 : slow ? 1000 : 3000, 1, RACERS, "adopt race");
	test_races(smoke ? 100 : slow ? 300 : 1000, NSLABS, RACERS,
		   "take race");
	test_migrating_owner(smoke ? 5 : slow ? 10 : 40);
	test_front(smoke ? 6 : 20);
	return t_result();
}
