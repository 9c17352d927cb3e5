// SPDX-License-Identifier: MIT
/*
 * tests/stress/phases.c - a program that moves from one block size to the
 * next reuses its memory: one thread, in phases, allocates N blocks of one
 * size, checks and frees them all, and goes on to the next size.
 *
 * Usage: phases.t [--smoke] [N]
 *   defaults: N = 200000 (50000 under sanitizers/valgrind, --smoke).
 *
 * The sizes (64 80 96 112 128 48 32 256 512 1024 B) share slab spans in
 * groups, so the memory one phase freed can only come back as whole slabs
 * (same span) or whole chunks (any span).  The thread's frees are local
 * (fast path), so the emptied slabs sit on their class's partial list;
 * hakmem gives them back when a class needs a new slab.
 *
 * Asserted, M0 = hak_stats.mapped before the first phase:
 *   after every phase, mapped <= M0 + 2 x the largest phase so far
 *   (N x size) + 16 MiB: what the earlier phases freed is reused or
 *   returned, not kept as each class's high-water mark (which would be
 *   the sum of all phases: 4.3 x the largest here); every pattern intact.
 */
#include "stress.h"

#define SLACK	(16 * S_MiB)

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 80, 96, 112, 128, 48, 32, 256,
					512, 1024 };
	bool smoke = t_smoke(argc, argv);
	const char *arg = t_arg(argc, argv, 1);
	size_t n = arg ? strtoul(arg, NULL, 0) :
		   (smoke || S_SLOW) ? 50000 : 200000;
	size_t largest = 0, sum = 0;
	struct hak_stats st0, st;
	void **b;

	if (n < 1000)
		t_die("usage: %s [--smoke] [N >= 1000]", argv[0]);
	b = s_table(n * sizeof(*b));
	s_warm();
	st0 = s_stats();
	for (size_t ph = 0; ph < sizeof(sizes) / sizeof(sizes[0]); ph++) {
		size_t sz = sizes[ph];

		for (size_t i = 0; i < n; i++) {
			b[i] = malloc(sz);
			if (!b[i])
				t_die("phases: malloc(%zu) failed", sz);
			s_fill(b[i], sz, s_key(b[i], sz, i));
		}
		for (size_t i = 0; i < n; i++) {
			if (s_check(b[i], sz, s_key(b[i], sz, i)) >= 0)
				t_die("phases: block %p (%zu B) corrupted", b[i],
				      sz);
			free(b[i]);
		}
		if (n * sz > largest)
			largest = n * sz;
		sum += n * sz;
		st = s_stats();
		CHECK(st.mapped <= st0.mapped + 2 * largest + SLACK,
		      "after the %zu B phase mapped %.1f MiB > start %.1f + 2 x %.1f MiB + %.0f: freed slabs of earlier sizes were kept",
		      sz, s_mib(st.mapped), s_mib(st0.mapped), s_mib(largest),
		      s_mib(SLACK));
	}
	printf("phases: %zu blocks a phase, largest phase %.1f MiB, all phases %.1f MiB; mapped at the end %.1f MiB (start %.1f, bound +%.1f)\n",
	       n, s_mib(largest), s_mib(sum), s_mib(st.mapped),
	       s_mib(st0.mapped), s_mib(2 * largest + SLACK));
	return t_result();
}
