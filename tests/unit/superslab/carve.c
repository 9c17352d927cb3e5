// SPDX-License-Identifier: MIT
/*
 * unit/superslab/carve.c - slab geometry for every span: slabs lie inside
 * their chunk, slab 0 is shorter by the header, the blocks that fit never
 * overrun the slab, pointer -> slab by address arithmetic finds the slab for every
 * block, and empty chunks are recycled and trimmed.  hak_ss_block_q()
 * finds exactly the block starts, for every class, slab 0 and the others,
 * over every 8-byte step of the 2 MiB either side of a slab's start.
 */
#include "helpers.h"
#include "registry/registry.h"
#include "superslab/superslab.h"

static void check_slab(struct hak_slab *s, unsigned shift, uint32_t stride)
{
	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)s);
	char *start = hak_ss_slab_start(s);
	size_t usable = hak_ss_slab_usable(s);
	unsigned idx = hak_ss_slab_index(s);

	uint32_t capacity = (uint32_t)(usable / stride);

	CHECK(c->magic == SS_MAGIC && c->shift == shift, "chunk %p", (void *)c);
	CHECK(hak_reg_kind((uintptr_t)c) == shift, "registry kind %u != %u",
	      hak_reg_kind((uintptr_t)c), shift);
	CHECK(hak_ss_kind(hak_reg_kind((uintptr_t)c)) &&
	      hak_ss_kind_shift(hak_reg_kind((uintptr_t)c)) == shift,
	      "registry kind is not the slab shift %u", shift);
	CHECK(usable == (idx ? (size_t)1 << shift : ((size_t)1 << shift) - SS_HDR),
	      "usable %zu of slab %u", usable, idx);
	CHECK((uintptr_t)start % 4096 == 0, "slab start %p not page-aligned",
	      (void *)start);
	CHECK(start >= (char *)c + SS_HDR &&
	      start + usable <= (char *)c + SS_SIZE, "slab outside chunk");
	for (uint32_t k = 0; k < capacity; k++) {
		uintptr_t b = (uintptr_t)start + (uintptr_t)k * stride;

		if (!CHECK(hak_ss_slab_of(b, shift) == s &&
			   hak_ss_slab_of(b + stride - 1, shift) == s,
			   "block %u of slab %u maps elsewhere", k, idx))
			break;
	}
}

/* check_block_q - the multiply-rotate test against n % stride, for a slab
 * of @stride starting @hdr bytes into a span of 1 << @shift */
static void check_block_q(uint32_t stride, unsigned shift, size_t hdr, int step)
{
	struct hak_slab s = { 0 };
	static char base[1];
	long cap = (long)((((size_t)1 << shift) - hdr) / stride), bad = 0;

	s.start = base;
	s.mul = hak_ss_block_mul(stride);
	s.capacity = (uint32_t)cap;
	s.carved = (uint64_t)cap;
	for (long n = -(long)SS_SIZE; n < (long)SS_SIZE; n += step) {
		bool want = n >= 0 && n % stride == 0 && n / stride < cap;
		uint64_t q = hak_ss_block_q(&s, base + n);

		if ((q < s.carved) != want || (want && q != (uint64_t)(n / stride)))
			if (bad++ < 3)
				CHECK(0, "stride %u: offset %ld: q %#lx", stride,
				      n, (unsigned long)q);
	}
	CHECK(!bad, "stride %u slab start +%zu: %ld wrong", stride, hdr, bad);
}

int main(int argc, char **argv)
{
	size_t before = hak_ss_chunks();
	int smoke = t_smoke(argc, argv);

	for (unsigned c = 0; c < 48; c++) {
		/* the class sizes (tiny.h), spans as tiny/class.c picks them */
		uint32_t z = c < 8 ? 16u * (c + 1) : (128u << ((c - 8) / 4)) +
			     (32u << ((c - 8) / 4)) * ((c - 8) % 4 + 1);
		unsigned shift = SS_MIN_SLAB_SHIFT;

		while (shift < SS_MAX_SLAB_SHIFT && ((size_t)1 << shift) < 16 * z)
			shift++;
		if (smoke && c % 7)
			continue;
		check_block_q(z, shift, SS_HDR, smoke ? 16 : 8);
		check_block_q(z, shift, 0, smoke ? 16 : 8);
	}

	for (unsigned shift = SS_MIN_SLAB_SHIFT; shift <= SS_MAX_SLAB_SHIFT;
	     shift++) {
		unsigned n = SS_NSLABS(shift);
		struct hak_slab *slabs[SS_MAX_SLABS * 2] = { 0 };
		uint32_t stride = shift == 16 ? 48 : 16u << (shift - 12);

		/* two chunks' worth: the second chunk must be a new one */
		for (unsigned i = 0; i < 2 * n; i++) {
			slabs[i] = hak_ss_acquire(shift);
			if (!CHECK(slabs[i], "acquire shift %u #%u", shift, i))
				return t_result();
			check_slab(slabs[i], shift, stride);
			for (unsigned j = 0; j < i; j++)
				CHECK(slabs[j] != slabs[i], "slab handed out twice");
		}
		CHECK(hak_ss_chunk_of((uintptr_t)slabs[0]) !=
		      hak_ss_chunk_of((uintptr_t)slabs[2 * n - 1]),
		      "shift %u: %u slabs fit in one chunk", shift, 2 * n);
		for (unsigned i = 0; i < 2 * n; i++)
			hak_ss_release(slabs[i]);
	}
	/* all our chunks are empty now: trim returns them to the OS */
	hak_ss_trim();
	CHECK(hak_ss_chunks() <= before, "chunks before %zu after trim %zu",
	      before, hak_ss_chunks());
	return t_result();
}
