// SPDX-License-Identifier: MIT
/*
 * tests/stress/exit_classes.c - every size class, 16 B to 128 KiB, left
 * behind at thread exit comes back: its slabs are published (remote/
 * README.md "Thread exit") and the thread that frees what is left (the
 * heir) gives them back to the superslab box (DESIGN invariant 8).
 *
 * Usage: exit_classes.t [--smoke]
 *
 * One round per class c (0 .. TINY_NCLASS - 1, in order): PRODUCERS threads
 * each allocate K blocks of exactly class c's size, K = the larger of 2.5
 * slabs and VOLUME bytes (12 MiB, 6 in the smoke run and under sanitizers
 * and valgrind), fill them, free every other block of the first 40% (so
 * the thread ends with partly used slabs on its partial list, slabs still
 * on its full list and a current slab), and exit.  Then:
 *   - white box: the slab of every block left behind has HAK_TAG_PUBLISHED
 *     in its owner tag (a slab kept by the pooled heap is never adopted by
 *     the heir's frees: those become remote pushes that nobody drains);
 *   - the heir checks every pattern and frees every block: the main thread
 *     for even classes, a consumer thread for odd ones, which stays alive
 *     while main measures;
 *   - mapped (hak_stats) <= M0 + BOUND, M0 = mapped before the first
 *     round, BOUND = 12 MiB: the superslab box's cache of 4 empty 2 MiB
 *     chunks and 4 MiB of slack (the live consumer's and the pooled heaps'
 *     spare slabs: one run in six under asan-preload peaked at 12.0).  A class whose slabs are not published
 *     keeps 2 x VOLUME or more (every slab holds blocks), named by class.
 * In the tracked flavours (asan-preload, valgrind) every block carries a
 * 16-byte redzone, so the request is the class size minus 16 and class 0
 * (16 B) cannot be asked for on its own; every block's slab is checked to
 * be of the class the round meant.
 */
#include <pthread.h>

#include "stress.h"
#include "remote/remote.h"
#include "superslab/superslab.h"
#include "tiny/tiny.h"

#define PRODUCERS	2
#define BOUND		(12 * S_MiB)

#if (defined(HAK_ASAN) && HAK_ASAN) || (defined(HAK_VALGRIND) && HAK_VALGRIND)
#define REDZONE		16	/* api.c's HAK_REDZONE in the tracked flavours */
#else
#define REDZONE		0
#endif

struct blk {
	void *p;
	uint64_t key;
};

struct share {
	pthread_t tid;
	struct blk *b;
	size_t n, cap, size;
	unsigned cls;
};

static struct share shares[PRODUCERS];
static pthread_barrier_t freed, measured;

static struct hak_slab *slab_of(const void *p)
{
	return hak_ss_slab_of((uintptr_t)p, hak_reg_kind((uintptr_t)p));
}

static void *produce(void *arg)
{
	struct share *s = arg;

	for (size_t i = 0; i < s->n; i++) {
		struct blk *b = &s->b[i];

		b->p = malloc(s->size);
		if (!b->p)
			t_die("exit_classes: malloc(%zu) failed", s->size);
		b->key = s_key(b->p, s->size, i + 1);
		s_fill(b->p, s->size, b->key);
	}
	/* local frees: the first slabs end up partly used */
	for (size_t i = 0; i < s->n * 2 / 5; i += 2) {
		free(s->b[i].p);
		s->b[i].p = NULL;
	}
	return NULL;
}

/* check_published - every block left behind lies in a published slab */
static void check_published(unsigned c)
{
	size_t left = 0, unpublished = 0, wrong_class = 0;
	uintptr_t tag = 0;

	for (int i = 0; i < PRODUCERS; i++)
		for (size_t k = 0; k < shares[i].n; k++) {
			struct hak_slab *s;
			uintptr_t t;

			if (!shares[i].b[k].p)
				continue;
			left++;
			s = slab_of(shares[i].b[k].p);
			t = atomic_load_explicit(&s->owner_tag,
						 memory_order_acquire);
			wrong_class += s->cls != c;
			if (!(t & HAK_TAG_PUBLISHED) && !unpublished++)
				tag = t;
		}
	CHECK(wrong_class == 0,
	      "class %u (%u B): %zu of %zu blocks of %zu B are in slabs of another class",
	      c, hak_tiny_class_size[c], wrong_class, left, shares[0].size);
	CHECK(unpublished == 0,
	      "class %u (%u B): after their threads exited, %zu of %zu blocks left behind are in slabs not published (first owner_tag %#lx): the exit kept them",
	      c, hak_tiny_class_size[c], unpublished, left, (unsigned long)tag);
}

static void free_all(void)
{
	for (int i = 0; i < PRODUCERS; i++)
		for (size_t k = 0; k < shares[i].n; k++) {
			struct blk *b = &shares[i].b[k];
			long bad;

			if (!b->p)
				continue;
			bad = s_check(b->p, shares[i].size, b->key);
			if (bad >= 0)
				t_die("exit_classes: block %p (%zu B) of producer %d corrupted at offset %ld",
				      b->p, shares[i].size, i, bad);
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
	size_t volume = (smoke || S_SLOW ? 6 : 12) * S_MiB, cap = 0;
	size_t worst = 0, total = 0;
	unsigned worst_cls = 0, rounds = 0;
	struct hak_stats st0, st;

	/* the most blocks a round needs: class 0's */
	for (unsigned c = 0; c < TINY_NCLASS; c++) {
		size_t size = hak_tiny_class_size[c];
		size_t slab = (size_t)1 << hak_tiny_class_shift(c);
		size_t k = slab / size * 5 / 2;

		if (k < volume / size)
			k = volume / size;
		if (k > cap)
			cap = k;
	}
	for (int i = 0; i < PRODUCERS; i++) {
		shares[i].cap = cap + 1;
		shares[i].b = s_table(shares[i].cap * sizeof(struct blk));
	}
	pthread_barrier_init(&freed, NULL, 2);
	pthread_barrier_init(&measured, NULL, 2);
	printf("exit_classes: %u classes, %d producers, %zu MiB each a class%s\n",
	       TINY_NCLASS, PRODUCERS, volume / S_MiB, s_flavour_note());
	fflush(stdout);
	s_warm();
	st0 = s_stats();

	for (unsigned c = 0; c < TINY_NCLASS; c++) {
		size_t csize = hak_tiny_class_size[c];
		size_t slab = (size_t)1 << hak_tiny_class_shift(c);
		size_t k = slab / csize * 5 / 2;
		bool by_thread = c & 1;
		pthread_t heir;

		if (csize <= REDZONE)
			continue;	/* tracked: 16 B blocks need 32 */
		if (k < volume / csize)
			k = volume / csize;
		for (int i = 0; i < PRODUCERS; i++) {
			shares[i].n = k;
			shares[i].size = csize - REDZONE;
			shares[i].cls = c;
			if (pthread_create(&shares[i].tid, NULL, produce,
					   &shares[i]))
				t_die("exit_classes: pthread_create failed");
		}
		for (int i = 0; i < PRODUCERS; i++)
			pthread_join(shares[i].tid, NULL);
		check_published(c);
		if (by_thread) {
			if (pthread_create(&heir, NULL, consume, NULL))
				t_die("exit_classes: pthread_create failed");
			pthread_barrier_wait(&freed);
		} else {
			free_all();
		}
		st = s_stats_idle(st0.mapped + BOUND);
		if (st.mapped - st0.mapped > worst || !rounds) {
			worst = st.mapped - st0.mapped;
			worst_cls = c;
		}
		CHECK(st.mapped <= st0.mapped + BOUND,
		      "class %u (%zu B): after the %s freed what %d exited threads left (%zu blocks each), mapped %.1f MiB > start %.1f + %.0f MiB: their slabs were kept",
		      c, csize, by_thread ? "consumer thread" : "main thread",
		      PRODUCERS, k, s_mib(st.mapped), s_mib(st0.mapped),
		      s_mib(BOUND));
		if (by_thread) {
			pthread_barrier_wait(&measured);
			pthread_join(heir, NULL);
		}
		total += PRODUCERS * k * csize;
		rounds++;
	}
	printf("exit_classes: %u rounds, %.0f MiB allocated in all; after the frees mapped at most start + %.1f MiB (class %u; bound %.0f), start %.1f\n",
	       rounds, s_mib(total), s_mib(worst), worst_cls, s_mib(BOUND),
	       s_mib(st0.mapped));
	return t_result();
}
