// SPDX-License-Identifier: MIT
/*
 * unit/tiny/exit_publish.c - what a thread's exit does with each kind of
 * slab it owns (tiny/heap.c:heap_detach, remote/README.md "Thread exit"):
 * a slab still holding blocks is published - whether it was the current
 * slab, on the partial list or on the full list - with its used count
 * equal to the blocks still out; a slab whose blocks all came back (by
 * the owner's frees or by remote frees it drains at exit) goes back to the
 * superslab box; the next thread allocating that class adopts the
 * published slabs before it takes a new one.  Until this test only
 * tests/stress/larson_rss.c (by its memory growth) saw a partial slab left
 * unpublished.
 *
 * Usage: exit_publish.t [--smoke]
 *
 * For each of a few classes (32 B .. 128 KiB), thread A allocates blocks
 * of the class until it holds five slabs S1..S5 (S1..S4 exhausted, S5 its
 * current slab, half used), then:
 *   S1: frees every other block itself   -> partial list, must be published
 *   S2: frees all its blocks itself      -> empty, must be released
 *   S3: keeps all                        -> full list, must be published
 *   S4: the main thread frees them all   -> remote frees drained at exit,
 *       while A waits                       empty, must be released
 *   S5: keeps its blocks                 -> current slab, must be published
 * and exits.  Checked after the join: each slab's owner_tag and used count.
 * Then thread B allocates as many blocks of the class as S1 and S5 have
 * room for: all of them must come from S1 and S5 (adopted from the
 * mailbox, not a new slab).  B frees them and exits, the main thread frees
 * what A left, and mapped must be back within 10 MiB of the start.
 */
#include <pthread.h>

#include "stress/stress.h"
#include "remote/remote.h"
#include "superslab/superslab.h"
#include "tiny/tiny.h"

#if (defined(HAK_ASAN) && HAK_ASAN) || (defined(HAK_VALGRIND) && HAK_VALGRIND)
#define REDZONE		16	/* api.c's HAK_REDZONE in the tracked flavours */
#else
#define REDZONE		0
#endif

#define NSLAB		5
#define MAX_BLOCKS	(NSLAB * 4096 + 1)	/* class 32 B: 2048 a slab */
#define BOUND		(10 * S_MiB)

static const unsigned classes[] = { 1, 12, 19, 27, 35, 43, 47 };

struct slab_rec {
	struct hak_slab *s;
	size_t first, n;	/* its blocks: blk[first .. first + n) */
};

static void *blk[MAX_BLOCKS];
static size_t nblk, size;
static struct slab_rec slab[NSLAB];
static pthread_barrier_t handed, remote_done;
static void *bblk[MAX_BLOCKS];
static size_t nb, want_b;

static struct hak_slab *slab_of(const void *p)
{
	return hak_ss_slab_of((uintptr_t)p, hak_reg_kind((uintptr_t)p));
}

static size_t live_in(int i)
{
	size_t n = 0;

	for (size_t k = slab[i].first; k < slab[i].first + slab[i].n; k++)
		n += blk[k] != NULL;
	return n;
}

static void free_in(int i, size_t step, size_t from)
{
	for (size_t k = slab[i].first + from; k < slab[i].first + slab[i].n;
	     k += step) {
		free(blk[k]);
		blk[k] = NULL;
	}
}

static void *thread_a(void *arg)
{
	int ns = 0;

	(void)arg;
	nblk = 0;
	for (;;) {
		struct hak_slab *s;
		void *p = malloc(size);

		if (!p || nblk == MAX_BLOCKS)
			t_die("exit_publish: malloc(%zu) #%zu failed", size,
			      nblk);
		memset(p, 0x3c, size);
		s = slab_of(p);
		if (!ns || slab[ns - 1].s != s) {
			if (ns == NSLAB) {	/* S5 is half used: enough */
				free(p);
				break;
			}
			slab[ns].s = s;
			slab[ns].first = nblk;
			slab[ns].n = 0;
			ns++;
		}
		blk[nblk++] = p;
		slab[ns - 1].n++;
		if (ns == NSLAB && slab[ns - 1].n * 2 >= s->capacity)
			break;
	}
	free_in(0, 2, 1);	/* S1: every other block */
	free_in(1, 1, 0);	/* S2: all */
	pthread_barrier_wait(&handed);
	pthread_barrier_wait(&remote_done);	/* S4 freed by main */
	return NULL;
}

static void *thread_b(void *arg)
{
	(void)arg;
	for (nb = 0; nb < want_b; nb++) {
		bblk[nb] = malloc(size);
		if (!bblk[nb])
			t_die("exit_publish: B's malloc(%zu) failed", size);
	}
	for (size_t k = 0; k < nb; k++) {
		struct hak_slab *s = slab_of(bblk[k]);

		if (!CHECK(s == slab[0].s || s == slab[4].s,
			   "class %u: B's block %zu of %zu is in slab %p, not in the published S1 %p or S5 %p: not adopted before a new slab",
			   slab[0].s->cls, k, nb, (void *)s, (void *)slab[0].s,
			   (void *)slab[4].s))
			break;
	}
	for (size_t k = 0; k < nb; k++)
		free(bblk[k]);
	return NULL;
}

static void one_class(unsigned c)
{
	static const char *const what[NSLAB] = {
		"S1 (partial list)", "S2 (emptied by its owner)",
		"S3 (full list)", "S4 (emptied by remote frees)",
		"S5 (current slab)",
	};
	pthread_t a, b;

	size = hak_tiny_class_size[c] - REDZONE;
	memset(slab, 0, sizeof(slab));
	if (pthread_create(&a, NULL, thread_a, NULL))
		t_die("exit_publish: pthread_create failed");
	pthread_barrier_wait(&handed);
	free_in(3, 1, 0);	/* S4: remote frees */
	pthread_barrier_wait(&remote_done);
	pthread_join(a, NULL);

	for (int i = 0; i < NSLAB; i++) {
		struct hak_slab *s = slab[i].s;
		uintptr_t tag = atomic_load_explicit(&s->owner_tag,
						     memory_order_acquire);
		size_t live = live_in(i);

		CHECK(s->cls == c || tag == 0,
		      "class %u: %s holds class %u", c, what[i], s->cls);
		if (live) {
			CHECK(tag & HAK_TAG_PUBLISHED,
			      "class %u: %s with %zu of %u blocks out was not published at exit (owner_tag %#lx)",
			      c, what[i], live, s->capacity,
			      (unsigned long)tag);
			CHECK(s->used == live,
			      "class %u: %s published with used %u, %zu blocks out",
			      c, what[i], s->used, live);
		} else {
			CHECK(tag == 0,
			      "class %u: %s, every block back, still out at exit (owner_tag %#lx, used %u)",
			      c, what[i], (unsigned long)tag, s->used);
		}
	}

	want_b = (slab[0].s->capacity - live_in(0)) +
		 (slab[4].s->capacity - live_in(4));
	if (pthread_create(&b, NULL, thread_b, NULL))
		t_die("exit_publish: pthread_create failed");
	pthread_join(b, NULL);

	for (size_t k = 0; k < nblk; k++)
		free(blk[k]);
}

int main(int argc, char **argv)
{
	struct hak_stats st0, st;

	(void)argc, (void)argv;	/* as short with --smoke */
	pthread_barrier_init(&handed, NULL, 2);
	pthread_barrier_init(&remote_done, NULL, 2);
	s_warm();
	st0 = s_stats();
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		one_class(classes[i]);
	st = s_stats_idle(st0.mapped + BOUND);
	CHECK(st.mapped <= st0.mapped + BOUND,
	      "after every block was freed, mapped %.1f MiB > start %.1f + %.0f MiB: slabs were kept",
	      s_mib(st.mapped), s_mib(st0.mapped), s_mib(BOUND));
	printf("exit_publish: %zu classes; partial, full and current slabs published at exit, emptied ones released, the published adopted first; mapped peak %.1f MiB, after %.1f (start %.1f)\n",
	       sizeof(classes) / sizeof(classes[0]), s_mib(st.mapped_peak),
	       s_mib(st.mapped), s_mib(st0.mapped));
	return t_result();
}
