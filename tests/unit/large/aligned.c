// SPDX-License-Identifier: MIT
/*
 * unit/large/aligned.c - large blocks aligned above the page size
 * (large/large.c): alignments of 8 KiB to 8 MiB, sizes above 128 KiB.
 * The user pointer of such a block sits further into its mapping than a
 * plain one's (up to 2 MiB in), the header is found from the pointer's 2
 * MiB region, and the BigCache must never hand such a mapping out as a
 * plain block.  Until this test only tests/api/api.c saw these blocks.
 *
 * Usage: aligned.t [--smoke]   (--smoke: alignments up to 4 MiB)
 *
 * For every (alignment, size), posix_memalign and aligned_alloc in turn:
 *   - aligned, hakmem's, usable >= size, the region before the pointer
 *     registered as a large block (the header's), all usable bytes
 *     written;
 *   - with all of them live, as many plain large blocks of the same sizes
 *     (from the BigCache when it holds any), written too: every pattern
 *     intact (no overlap);
 *   - then the aligned blocks are freed and the plain sizes allocated
 *     again twice over (the cache hands out what it kept): each is
 *     hakmem's, with a usable size between its size and 4 x (its size + 8
 *     KiB) (the cache's fit rule), and reads back what was written;
 *   - realloc of an aligned block, grown to 2x and shrunk to a third,
 *     keeps the bytes.
 * At the end, after malloc_trim(0): mapped <= mapped at start + 2 MiB.
 */
#include "stress/stress.h"
#include "registry/registry.h"

#define NALIGN_MAX	11	/* 8 KiB .. 8 MiB */
#define NSIZE		4

static const size_t sizes[NSIZE] = {
	128 * 1024 + 1, 200000, 1024 * 1024 + 1, 3 * 1024 * 1024,
};

struct blk {
	void *p;
	size_t size, usable;
	uint64_t key;
};

static struct blk al_blk[NALIGN_MAX * NSIZE], plain[2 * NSIZE];

static void take(struct blk *b, void *p, size_t size, uint64_t seq)
{
	b->p = p;
	b->size = size;
	b->usable = s_usable(p);
	b->key = s_key(p, size, seq);
	CHECK(hak_owns(p) == 1, "%p (%zu B) not hakmem's", p, size);
	CHECK(b->usable >= size, "%p: usable %zu < %zu", p, b->usable, size);
	if (b->usable >= size)
		s_fill(p, b->usable, b->key);
}

static void check(const struct blk *b, const char *when)
{
	long bad = s_check(b->p, b->usable, b->key);

	CHECK(bad < 0, "%s: block %p (%zu B, usable %zu) corrupted at offset %ld",
	      when, b->p, b->size, b->usable, bad);
}

/* plain_round - NSIZE plain blocks into plain[@at ..] */
static void plain_round(int at, uint64_t seq)
{
	for (int k = 0; k < NSIZE; k++) {
		void *p = malloc(sizes[k]);

		if (!p)
			t_die("aligned: malloc(%zu) failed", sizes[k]);
		take(&plain[at + k], p, sizes[k], seq + (uint64_t)k);
		CHECK(plain[at + k].usable <= 4 * (sizes[k] + 8192),
		      "malloc(%zu) = %p: usable %zu, more than the cache's fit rule allows",
		      sizes[k], p, plain[at + k].usable);
	}
}

int main(int argc, char **argv)
{
	int nalign = t_smoke(argc, argv) ? NALIGN_MAX - 1 : NALIGN_MAX;
	struct hak_stats st0, st;
	int n = 0;

	s_warm();
	s_trim();
	st0 = s_stats();
	for (int a = 0; a < nalign; a++)
		for (int k = 0; k < NSIZE; k++) {
			size_t al = (size_t)8192 << a;
			uintptr_t region;
			void *p = NULL;

			if ((a + k) & 1)
				p = aligned_alloc(al, sizes[k]);
			else if (posix_memalign(&p, al, sizes[k]))
				p = NULL;
			if (!p)
				t_die("aligned: %zu B aligned %zu failed",
				      sizes[k], al);
			CHECK((uintptr_t)p % al == 0, "%p (%zu B) not %zu-aligned",
			      p, sizes[k], al);
			region = ((uintptr_t)p - 1) & ~(HAK_REG_SIZE - 1);
			CHECK(hak_reg_kind(region) == HAK_REG_LARGE,
			      "%p (%zu B, align %zu): its header's region %#lx is of kind %u, not large",
			      p, sizes[k], al, (unsigned long)region,
			      hak_reg_kind(region));
			take(&al_blk[n], p, sizes[k], (uint64_t)n);
			n++;
		}
	plain_round(0, 1000);
	for (int i = 0; i < n; i++)
		check(&al_blk[i], "all live");
	for (int i = 0; i < NSIZE; i++)
		check(&plain[i], "all live");

	/* realloc keeps an aligned block's bytes; then free them all */
	for (int i = 0; i < n; i++) {
		struct blk *b = &al_blk[i];
		size_t keep = b->usable;
		void *q = realloc(b->p, 2 * b->size);

		if (!CHECK(q, "realloc(%p, %zu) failed", b->p, 2 * b->size))
			continue;
		b->p = q;
		CHECK(s_check(q, keep, b->key) < 0,
		      "realloc(%zu -> %zu) = %p: bytes lost", b->size,
		      2 * b->size, q);
		q = realloc(q, b->size / 3);
		if (!CHECK(q, "realloc(%p, %zu) failed", b->p, b->size / 3))
			continue;
		b->p = q;
		/* the pattern's words at 4 KiB steps, then its tail word:
		 * the shrunk block keeps the head words */
		for (size_t off = 0; off + 16 <= b->size / 3; off += 4096) {
			uint64_t w;

			memcpy(&w, (char *)q + off, 8);
			if (!CHECK(w == b->key + off,
				   "realloc(%zu -> %zu) = %p: word at %zu lost",
				   2 * b->size, b->size / 3, q, off))
				break;
		}
		free(q);
		b->p = NULL;
	}
	for (int i = 0; i < NSIZE; i++)
		free(plain[i].p);

	/* the cache now holds plain mappings only: take them back */
	plain_round(0, 2000);
	plain_round(NSIZE, 3000);
	for (int i = 0; i < 2 * NSIZE; i++) {
		check(&plain[i], "after the aligned blocks went");
		free(plain[i].p);
	}
	s_trim();
	st = s_stats();
	CHECK(st.mapped <= st0.mapped + 2 * S_MiB,
	      "after every block was freed and malloc_trim(0), mapped %.1f MiB > start %.1f + 2 MiB",
	      s_mib(st.mapped), s_mib(st0.mapped));
	printf("aligned: %d large blocks aligned 8 KiB .. %zu MiB, %zu .. %zu B; mapped peak %.1f MiB, after trim %.1f (start %.1f)\n",
	       n, ((size_t)8192 << (nalign - 1)) / S_MiB, sizes[0],
	       sizes[NSIZE - 1], s_mib(st.mapped_peak), s_mib(st.mapped),
	       s_mib(st0.mapped));
	return t_result();
}
