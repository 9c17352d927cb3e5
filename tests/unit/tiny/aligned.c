// SPDX-License-Identifier: MIT
/*
 * unit/tiny/aligned.c - blocks aligned above the page size from slabs
 * (tiny/heap.c:hak_tiny_alloc_aligned): alignments of 8 to 64 KiB, sizes
 * up to 128 KiB - alignment, so that a slab class serves them.  Slab
 * starts are only page-aligned, so such a block is an interior pointer
 * into a bigger block, and every path that frees one must find the
 * block's base.  Until this test only tests/api/api.c saw these blocks.
 *
 * Usage: aligned.t [--smoke]
 *
 * A producer thread allocates NPER blocks of every (alignment, size) pair
 * (posix_memalign and aligned_alloc in turn) and fills each one's usable
 * bytes.  Checked for every block:
 *   - aligned, hakmem's, in a slab (the registry says slab, not large);
 *   - white box (not in the tracked flavours, whose usable size is the
 *     request): usable size == the rest of the slab block holding it, the
 *     block lies in its slab, and a pointer past the block's base has
 *     HAK_TAG_ALIGNED set on its slab (the free paths look for it);
 *   - every pattern intact once all are live (no two blocks overlap).
 * Then the blocks are freed in thirds, each third by another path:
 *   1. by the main thread while the producer lives: remote frees;
 *   2. by the producer itself: owner frees (fast or slow path);
 *   3. by the main thread after the producer exited: frees into published
 *      slabs (adoption by free).
 * After 1 and 2 the producer allocates plain blocks of the same classes
 * (a block pushed back at its interior pointer instead of its base would
 * come out overlapping a live neighbour), fills them, and checks that the
 * live aligned blocks are intact.  At the end everything is freed:
 * mapped <= mapped at start + 10 MiB (the superslab box's cache of empty
 * chunks and slack): every slab came back, so every free was counted.
 */
#include <pthread.h>

#include "stress/stress.h"
#include "superslab/superslab.h"
#include "tiny/tiny.h"

#if (defined(HAK_ASAN) && HAK_ASAN) || (defined(HAK_VALGRIND) && HAK_VALGRIND)
#define TRACKED 1	/* usable size == request; a 16-byte redzone */
#else
#define TRACKED 0
#endif

#define NALIGN		4	/* 8, 16, 32, 64 KiB */
#define NSIZE		6
#define NPER_MAX	24
#define NPROBE		32
#define BOUND		(10 * S_MiB)

struct blk {
	void *p;
	size_t size, usable;
	uint64_t key;
};

static struct blk blks[NALIGN * NSIZE * NPER_MAX];
static size_t nblk, nper;
static pthread_barrier_t remote_done, allocated;

static size_t align_of(int a)
{
	return (size_t)8192 << a;
}

/* size @k for alignment @al: all of them served from slabs */
static size_t size_of(size_t al, int k)
{
	const size_t top = TINY_MAX - al;	/* size + align <= TINY_MAX */
	const size_t sizes[NSIZE] = { 1, 100, 4096, 5000, al, top };

	return sizes[k] < top ? sizes[k] : top;
}

static void check_block(const struct blk *b, size_t al)
{
	uintptr_t p = (uintptr_t)b->p;
	unsigned kind = hak_reg_kind(p);
	struct hak_slab *s;
	char *start, *base;

	CHECK(p % al == 0, "%p (%zu B) not %zu-aligned", b->p, b->size, al);
	CHECK(hak_owns(b->p) == 1, "%p not hakmem's", b->p);
	CHECK(b->usable >= b->size, "%p: usable %zu < %zu", b->p, b->usable,
	      b->size);
	if (!CHECK(kind >= SS_MIN_SLAB_SHIFT && kind <= SS_MAX_SLAB_SHIFT,
		   "%p (%zu B, align %zu): registry kind %u, not a slab",
		   b->p, b->size, al, kind))
		return;
	s = hak_ss_slab_of(p, kind);
	start = hak_ss_slab_start(s);
	if (!CHECK(hak_tiny_in_slab(s, b->p), "%p outside its slab's blocks",
		   b->p))
		return;
	base = start + (size_t)(((char *)b->p - start) / s->stride) * s->stride;
	if (TRACKED)
		return;
	CHECK(b->usable == (size_t)(base + s->stride - (char *)b->p),
	      "%p (%zu B, align %zu): usable %zu, the block (stride %u) ends %zu bytes on",
	      b->p, b->size, al, b->usable, s->stride,
	      (size_t)(base + s->stride - (char *)b->p));
	if ((char *)b->p != base)
		CHECK(atomic_load_explicit(&s->owner_tag, memory_order_acquire) &
		      HAK_TAG_ALIGNED,
		      "%p is %zu bytes into its block but its slab is not marked ALIGNED",
		      b->p, (size_t)((char *)b->p - base));
}

/* check_live - every block of third @from .. 2 still holds its pattern */
static void check_live(int from, const char *when)
{
	for (size_t i = 0; i < nblk; i++) {
		long bad;

		if ((int)(i % 3) < from || !blks[i].p)
			continue;
		bad = s_check(blks[i].p, blks[i].usable, blks[i].key);
		CHECK(bad < 0, "%s: aligned block %p (%zu B, usable %zu) corrupted at offset %ld",
		      when, blks[i].p, blks[i].size, blks[i].usable, bad);
	}
}

static void free_third(int third)
{
	for (size_t i = third; i < nblk; i += 3) {
		free(blks[i].p);
		blks[i].p = NULL;
	}
}

/* probe - plain blocks of the classes just freed into: none may overlap
 * a live aligned block of third @from and up */
static void probe(int from, const char *when)
{
	void *pr[NALIGN * NSIZE][NPROBE];

	for (int a = 0; a < NALIGN; a++)
		for (int k = 0; k < NSIZE; k++) {
			size_t al = align_of(a);
			size_t n = size_of(al, k) + al - 16;

			for (int j = 0; j < NPROBE; j++) {
				void **q = &pr[a * NSIZE + k][j];

				*q = malloc(n);
				if (!*q)
					t_die("aligned: malloc(%zu) failed", n);
				memset(*q, 0x5a, n);
			}
		}
	check_live(from, when);
	for (int i = 0; i < NALIGN * NSIZE; i++)
		for (int j = 0; j < NPROBE; j++)
			free(pr[i][j]);
}

static void *produce(void *arg)
{
	(void)arg;
	for (int a = 0; a < NALIGN; a++)
		for (int k = 0; k < NSIZE; k++) {
			size_t al = align_of(a), size = size_of(al, k);

			for (size_t j = 0; j < nper; j++) {
				struct blk *b = &blks[nblk++];
				void *p = NULL;

				if (j & 1)
					p = aligned_alloc(al, size);
				else if (posix_memalign(&p, al, size))
					p = NULL;
				if (!p)
					t_die("aligned: %zu B aligned %zu failed",
					      size, al);
				b->p = p;
				b->size = size;
				b->usable = malloc_usable_size(p);
				b->key = s_key(p, size, nblk);
				check_block(b, al);
				if (b->usable >= b->size)
					s_fill(p, b->usable, b->key);
			}
		}
	check_live(0, "all live");
	pthread_barrier_wait(&allocated);
	pthread_barrier_wait(&remote_done);	/* third 0 freed remotely */
	probe(1, "after the remote frees");
	free_third(1);
	probe(2, "after the owner's frees");
	return NULL;
}

int main(int argc, char **argv)
{
	struct hak_stats st0, st;
	pthread_t tid;

	nper = t_smoke(argc, argv) ? 6 : NPER_MAX;
	pthread_barrier_init(&allocated, NULL, 2);
	pthread_barrier_init(&remote_done, NULL, 2);
	s_warm();
	st0 = s_stats();
	if (pthread_create(&tid, NULL, produce, NULL))
		t_die("aligned: pthread_create failed");
	pthread_barrier_wait(&allocated);
	free_third(0);
	pthread_barrier_wait(&remote_done);
	pthread_join(tid, NULL);
	check_live(2, "after the producer exited");
	free_third(2);
	st = s_stats_idle(st0.mapped + BOUND);
	CHECK(st.mapped <= st0.mapped + BOUND,
	      "after every aligned block was freed, mapped %.1f MiB > start %.1f + %.0f MiB: slabs were kept",
	      s_mib(st.mapped), s_mib(st0.mapped), s_mib(BOUND));
	printf("aligned: %zu blocks aligned 8..64 KiB from slabs, freed remotely, by their owner and after its exit; mapped peak %.1f MiB, after %.1f (start %.1f)\n",
	       nblk, s_mib(st.mapped_peak), s_mib(st.mapped),
	       s_mib(st0.mapped));
	return t_result();
}
