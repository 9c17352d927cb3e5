// SPDX-License-Identifier: MIT
/*
 * unit/tiny/footprint.c - what a program's first small malloc makes
 * resident (mincore: pages with a page-table entry), docs/DESIGN.md
 * "Fixed memory":
 *  1. the first heap: only the pages it wrote are resident, its first
 *     (every field but the counters of classes from 21 up) and those of
 *     the counters it counted (the arena is not cleared); before, a memset
 *     made both pages of the 6 KiB heap resident;
 *  2. the first slab of a class: one page of blocks (the first carve stops
 *     at the page end); before, the 8 KiB carve made two.  The first chunk
 *     then has two pages resident, its header (one page: the chunk's
 *     fields in the last slab's metadata) and those blocks; before, four;
 *  3. the sentinel heaps: the dead heap is set up by start-up, the global
 *     heap not before a thread allocates after its teardown (before, both
 *     were initialised in .data: 226 relocations ld.so applied at load),
 *     and malloc_trim copes with it not set up.
 * Skipped where a flavour puts its own allocator or layout in between
 * (asan-preload, valgrind); 1 is skipped in the slow mode (HAKMEM_STATS,
 * HAKMEM_TRACE_RING, the failfast flavour: a shadow heap follows each
 * heap in the arena).
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>

#include "helpers.h"
#include "os/os.h"
#include "tiny/tiny_internal.h"
#include "unit/tiny/tiny_test.h"

/* written - pages of heap @h that hold a field it wrote: its first, and
 * those of its counters that are not 0 */
static unsigned written(const struct hak_heap *h)
{
	uintptr_t page = (uintptr_t)h, last = page;
	unsigned n = 1;

	for (unsigned c = 0; c < TINY_NCLASS; c++)
		for (unsigned k = 0; k < TS_NSTAT; k++) {
			uintptr_t a = HAK_ALIGN_DOWN((uintptr_t)&h->stat[c][k],
						     HAK_PAGE_SIZE);

			if (atomic_load(&h->stat[c][k]) && a != page &&
			    a != last) {
				last = a;
				n++;
			}
		}
	return n;
}

/* resident - pages of [p, p + len) with a page-table entry */
static unsigned resident(const void *p, size_t len)
{
	uintptr_t lo = HAK_ALIGN_DOWN((uintptr_t)p, HAK_PAGE_SIZE);
	uintptr_t hi = HAK_ALIGN_UP((uintptr_t)p + len, HAK_PAGE_SIZE);
	unsigned char vec[16];
	unsigned n = 0;

	if ((hi - lo) / HAK_PAGE_SIZE > sizeof(vec))
		t_die("resident: range too long");
	if (mincore((void *)lo, hi - lo, vec))
		t_die("mincore: %s", strerror(errno));
	for (size_t i = 0; i < (hi - lo) / HAK_PAGE_SIZE; i++)
		n += vec[i] & 1;
	return n;
}

static pthread_key_t late_key;
static void *late_block;
static uint32_t late_state;

/* a thread-exit destructor that runs after hakmem's (keys run in the
 * order of their creation): it allocates from the global heap */
static void late(void *arg)
{
	if (hak_tiny_heap->state != HEAP_DEAD) {
		pthread_setspecific(late_key, arg);	/* the next round */
		return;
	}
	late_block = hak_tiny_alloc(64);
	late_state = hak_tiny_global_heap.state;
	if (late_block)
		hak_tiny_free(late_block, hak_ss_kind_shift(
			hak_reg_kind((uintptr_t)late_block)));
}

static void *thread(void *arg)
{
	void *b = hak_tiny_alloc(64);

	tfree(b);
	pthread_setspecific(late_key, arg);
	return NULL;
}

int main(void)
{
	/* the process's first allocation: nothing before main allocates */
	void *b = hak_tiny_alloc(64);
	struct hak_heap *h = me();
	struct hak_slab *s;
	pthread_t t;

	if (HAK_TRACK)
		return T_SKIP;
	if (!CHECK(b, "alloc"))
		return t_result();
	s = slab_of(b);
	/* 1: the arena's first heap starts a page (a program's runtime may
	 * have counted a class past 20 before main: ubsan's) */
	if (!hak_tiny_slow_mode && hak_tiny_heaps() == 1 &&
	    (uintptr_t)h % HAK_PAGE_SIZE == 0)
		CHECK(resident(h, sizeof(*h)) == written(h),
		      "the first heap (%zu bytes) has %u pages resident, "
		      "want %u", sizeof(*h), resident(h, sizeof(*h)),
		      written(h));
	else
		fprintf(stderr, "heap check skipped: %zu heaps, heap at %p%s\n",
			hak_tiny_heaps(), (void *)h,
			hak_tiny_slow_mode ? ", slow mode" : "");
	/* 2: one page of blocks; the slab was new (nothing carved before) */
	CHECK(s->carved == (HAK_PAGE_SIZE - 1) / s->stride + 1,
	      "first carve: %llu blocks of %u", (unsigned long long)s->carved,
	      s->stride);
	CHECK(resident(hak_ss_slab_start(s), 8192) == 1,
	      "the slab's first 8 KiB: %u pages resident, want 1",
	      resident(hak_ss_slab_start(s), 8192));
	if (hak_ss_slab_index(s) == 0)
		CHECK(resident(hak_ss_chunk_of((uintptr_t)s), 64 << 10) == 2,
		      "the first chunk's first 64 KiB: %u pages resident, "
		      "want 2", resident(hak_ss_chunk_of((uintptr_t)s),
					 64 << 10));
	tfree(b);

	/* 3: the dead heap is set up, the global heap is not until used */
	CHECK(hak_tiny_dead_heap.state == HEAP_DEAD &&
	      hak_tiny_dead_heap.direct[0] == &hak_tiny_empty_slab &&
	      hak_tiny_dead_heap.cur[TINY_NCLASS - 1] == &hak_tiny_empty_slab,
	      "dead heap not set up at start-up");
	CHECK(hak_tiny_global_heap.state != HEAP_GLOBAL,
	      "the global heap is set up before its first use");
	hak_tiny_trim();
	CHECK(hak_tiny_global_heap.state != HEAP_GLOBAL,
	      "trim set up the global heap");
	if (pthread_key_create(&late_key, late) ||
	    pthread_create(&t, NULL, thread, &late_key) ||
	    pthread_join(t, NULL))
		t_die("thread");
	CHECK(late_block && late_state == HEAP_GLOBAL,
	      "a malloc after thread exit: block %p, global heap state %u",
	      late_block, late_state);
	hak_tiny_trim();
	return t_result();
}
