// SPDX-License-Identifier: MIT
/*
 * bignum.c - one thread doing arithmetic on big numbers made of linked
 * 32-bit limbs: every operation mallocs a new number limb by limb and the
 * caller frees the operands it no longer needs, so nearly every object is
 * small (16 and 24 B) and dies young - the allocation pattern of an
 * interpreter's or a symbolic program's temporaries.
 *
 *   bignum [--smoke] [SCALE]
 *
 * 200 * SCALE rounds (--smoke: 1).  Round r computes F(n) by n additions
 * (Fibonacci, n = 4000 + 250 (r % 8)), m! by m - 1 multiplications by a
 * small number (m = 800 + 50 (r % 8)), and F(n) * m! by schoolbook
 * multiplication (a multiplication by a limb, a shift and an addition per
 * limb of F(n), each a fresh number).  Each result is checked: its value
 * modulo 2^61 - 1, read from the limbs, must equal what plain 64-bit
 * modular arithmetic gives, so an allocator that loses or overwrites a
 * limb fails the run.  Output:
 *
 *   bignum: rounds=R limbs_max=L checksum=C ops=N seconds=S
 *     ops_per_sec=X rss_peak_kb=K hakmem=H
 *
 * ops counts mallocs (limbs and number headers; each is freed);
 * checksum is the sum of every round's three residues modulo 2^61 - 1,
 * the same under every allocator.
 */
#include "bench_util.h"

#define PROG "bignum"
#define P61 ((1ULL << 61) - 1)		/* a Mersenne prime */

struct limb {
	struct limb *next;		/* the next more significant limb */
	uint32_t v;
};

struct num {
	struct limb *lo;		/* least significant limb; NULL: 0 */
	uint32_t n;			/* limbs */
	uint32_t round;			/* the round that made it */
	uint64_t pad;			/* a header is 24 B, a limb 16 B */
};

static uint64_t mallocs;
static uint32_t cur_round, limbs_max;

static void *get(size_t size)
{
	mallocs++;
	return bench_malloc(PROG, size);
}

/* a number under construction: append limbs from the least significant */
struct builder {
	struct num *num;
	struct limb **tail;
};

static struct builder start_num(void)
{
	struct builder b;

	b.num = get(sizeof(*b.num));
	b.num->lo = NULL;
	b.num->n = 0;
	b.num->round = cur_round;
	b.num->pad = 0;
	b.tail = &b.num->lo;
	return b;
}

static void put(struct builder *b, uint32_t v)
{
	struct limb *l = get(sizeof(*l));

	l->v = v;
	l->next = NULL;
	*b->tail = l;
	b->tail = &l->next;
	b->num->n++;
}

/* drop leading zero limbs: the canonical form has none.  The list must
 * have exactly the limbs put() appended (a limb malloc handed out twice
 * makes a cycle or loses one). */
static struct num *done(struct builder *b)
{
	struct limb *l, *last_nz = NULL, *next;
	uint32_t n = 0, keep = 0;

	for (l = b->num->lo; l && n < b->num->n; l = l->next) {
		n++;
		if (l->v) {
			last_nz = l;
			keep = n;
		}
	}
	if (l || n != b->num->n) {
		fprintf(stderr, PROG ": round %u: a number's limb list is "
			"broken (%u limbs appended, %u linked)\n", cur_round,
			b->num->n, n);
		exit(1);
	}
	l = last_nz ? last_nz->next : b->num->lo;
	if (last_nz)
		last_nz->next = NULL;
	else
		b->num->lo = NULL;
	for (; l; l = next) {
		next = l->next;
		free(l);
	}
	b->num->n = keep;
	if (keep > limbs_max)
		limbs_max = keep;
	return b->num;
}

static void drop(struct num *a)
{
	struct limb *l, *next;

	for (l = a->lo; l; l = next) {
		next = l->next;
		free(l);
	}
	free(a);
}

static struct num *small(uint32_t v)
{
	struct builder b = start_num();

	put(&b, v);
	return done(&b);
}

static struct num *add(const struct num *x, const struct num *y)
{
	struct builder b = start_num();
	const struct limb *p = x->lo, *q = y->lo;
	uint64_t carry = 0;

	while (p || q || carry) {
		uint64_t s = carry;

		if (p) {
			s += p->v;
			p = p->next;
		}
		if (q) {
			s += q->v;
			q = q->next;
		}
		put(&b, (uint32_t)s);
		carry = s >> 32;
	}
	return done(&b);
}

/* x * m * 2^(32 shift) */
static struct num *mul_small(const struct num *x, uint32_t m, unsigned shift)
{
	struct builder b = start_num();
	const struct limb *p;
	uint64_t carry = 0;

	if (!x->lo || !m)
		return done(&b);
	while (shift--)
		put(&b, 0);
	for (p = x->lo; p; p = p->next) {
		uint64_t t = (uint64_t)p->v * m + carry;

		put(&b, (uint32_t)t);
		carry = t >> 32;
	}
	if (carry)
		put(&b, (uint32_t)carry);
	return done(&b);
}

/* schoolbook: one fresh partial product and one fresh sum per limb of x */
static struct num *mul(const struct num *x, const struct num *y)
{
	struct num *acc = small(0);
	const struct limb *p;
	unsigned i = 0;

	for (p = x->lo; p; p = p->next, i++) {
		struct num *part = mul_small(y, p->v, i), *sum = add(acc, part);

		drop(part);
		drop(acc);
		acc = sum;
	}
	return acc;
}

static uint64_t mulmod(uint64_t a, uint64_t b)
{
	unsigned __int128 t = (unsigned __int128)a * b;
	uint64_t r = (uint64_t)(t & P61) + (uint64_t)(t >> 61);

	return r >= P61 ? r - P61 : r;
}

static uint64_t addmod(uint64_t a, uint64_t b)
{
	uint64_t r = a + b;

	return r >= P61 ? r - P61 : r;
}

/* x mod 2^61 - 1, read from the limbs; checks the limb count too */
static uint64_t residue(const struct num *x)
{
	const struct limb *p;
	uint64_t r = 0, w = 1, base = (1ULL << 32) % P61;
	uint32_t n = 0;

	for (p = x->lo; p; p = p->next, n++) {
		r = addmod(r, mulmod(p->v, w));
		w = mulmod(w, base);
	}
	if (n != x->n || x->round != cur_round) {
		fprintf(stderr, PROG ": a number's header was overwritten "
			"(%u limbs, header says %u)\n", n, x->n);
		exit(1);
	}
	return r;
}

static void expect(const char *what, uint64_t got, uint64_t want)
{
	if (got != want) {
		fprintf(stderr, PROG ": round %u: %s mod 2^61-1 is %llu, want "
			"%llu: a limb was lost or overwritten\n", cur_round,
			what, (unsigned long long)got,
			(unsigned long long)want);
		exit(1);
	}
}

/* one round; returns the sum of its three residues */
static uint64_t round_of(uint32_t r)
{
	uint32_t n = 4000 + 250 * (r % 8), m = 800 + 50 * (r % 8), k;
	struct num *a = small(0), *b = small(1), *f, *prod;
	uint64_t fa = 0, fb = 1, fm = 1, ra, rf, rp;

	for (k = 0; k < n; k++) {
		struct num *c = add(a, b);
		uint64_t fc = addmod(fa, fb);

		drop(a);
		a = b;
		b = c;
		fa = fb;
		fb = fc;
	}
	drop(b);			/* a is F(n) */
	f = small(1);
	for (k = 2; k <= m; k++) {
		struct num *g = mul_small(f, k, 0);

		drop(f);
		f = g;
		fm = mulmod(fm, k);
	}
	prod = mul(a, f);
	ra = residue(a);
	rf = residue(f);
	rp = residue(prod);
	expect("F(n)", ra, fa);
	expect("m!", rf, fm);
	expect("F(n) * m!", rp, mulmod(fa, fm));
	drop(a);
	drop(f);
	drop(prod);
	return addmod(addmod(ra, rf), rp);
}

int main(int argc, char **argv)
{
	struct bench_args a = bench_parse(argc, argv, PROG, NULL);
	uint64_t rounds = bench_count(&a, 200, 1), sum = 0;
	int hakmem = bench_hakmem(16);
	double t0, secs;

	t0 = bench_now();
	for (cur_round = 0; cur_round < rounds; cur_round++)
		sum = addmod(sum, round_of(cur_round));
	secs = bench_now() - t0;
	printf(PROG ": rounds=%llu limbs_max=%u checksum=%llu ops=%llu "
	       "seconds=%.3f ops_per_sec=%.0f rss_peak_kb=%ld hakmem=%d\n",
	       (unsigned long long)rounds, limbs_max, (unsigned long long)sum,
	       (unsigned long long)mallocs, secs,
	       secs > 0 ? mallocs / secs : 0.0, bench_rss_peak_kb(), hakmem);
	return 0;
}
