// SPDX-License-Identifier: MIT
/*
 * tests/api/overcommit.c - a request the machine cannot back fails now,
 * as under glibc, instead of succeeding and getting the program
 * OOM-killed when it touches the block.
 *
 * With vm.overcommit_memory 0 (heuristic) the kernel refuses a private
 * writable mapping larger than RAM + swap; with 2 (strict) anything over
 * the commit limit.  hakmem maps user memory without MAP_NORESERVE, so
 * that policy applies.  Asserted, for 1 TiB (HUGE) when RAM + swap is
 * below it: malloc, calloc, realloc (of NULL and of a live block, which
 * must survive intact), aligned_alloc, posix_memalign and memalign return
 * NULL (posix_memalign ENOMEM) with errno ENOMEM; then ordinary allocation
 * works.  Skipped (77) with overcommit 1 (always overcommit: the kernel
 * grants it, as it would for glibc) or when the machine has 1 TiB.
 *
 * Usage: overcommit.t [--smoke]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "hakmem.h"
#include "helpers.h"

#define HUGE	((size_t)1 << 40)

static int overcommit_mode(void)
{
	FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
	int mode = -1;

	if (f) {
		if (fscanf(f, "%d", &mode) != 1)
			mode = -1;
		fclose(f);
	}
	return mode;
}

#define EXPECT_ENOMEM(call, expr)					\
	do {								\
		void *q_;						\
		errno = 0;						\
		q_ = (expr);						\
		CHECK(q_ == NULL && errno == ENOMEM,			\
		      "%s of 1 TiB: %p, errno %d (want NULL, ENOMEM)",	\
		      call, q_, errno);					\
		free(q_);						\
	} while (0)

int main(int argc, char **argv)
{
	struct sysinfo si;
	unsigned long long ram;
	int mode = overcommit_mode();
	char *live, *p;
	void *q = NULL;
	int rc;

	(void)t_smoke(argc, argv);
	if (mode == 1) {
		printf("SKIP overcommit: vm.overcommit_memory is 1 (always): "
		       "the kernel grants any mapping\n");
		return T_SKIP;
	}
	if (sysinfo(&si) != 0)
		t_die("overcommit: sysinfo: %s", strerror(errno));
	ram = ((unsigned long long)si.totalram + si.totalswap) * si.mem_unit;
	if (ram >= HUGE) {
		printf("SKIP overcommit: RAM + swap is %llu GiB, >= 1 TiB\n",
		       ram >> 30);
		return T_SKIP;
	}

	EXPECT_ENOMEM("malloc", malloc(HUGE));
	EXPECT_ENOMEM("calloc", calloc(1, HUGE));
	EXPECT_ENOMEM("calloc (2 x 512 GiB)", calloc(2, HUGE / 2));
	EXPECT_ENOMEM("realloc(NULL)", realloc(NULL, HUGE));
	EXPECT_ENOMEM("aligned_alloc", aligned_alloc(4096, HUGE));
	EXPECT_ENOMEM("memalign", memalign(1 << 21, HUGE));

	errno = 0;
	rc = posix_memalign(&q, 64, HUGE);
	CHECK(rc == ENOMEM && q == NULL, "posix_memalign of 1 TiB: %d, %p", rc,
	      q);

	/* realloc of a live block (small and large) fails and keeps it */
	for (size_t n = 100; n <= 4 << 20; n *= 200) {
		live = malloc(n);
		CHECK(live != NULL, "malloc(%zu) after the failures", n);
		if (!live)
			break;
		memset(live, 0x6b, n);
		errno = 0;
		p = realloc(live, HUGE);
		CHECK(p == NULL && errno == ENOMEM,
		      "realloc(%zu-byte block, 1 TiB): %p, errno %d", n,
		      (void *)p, errno);
		if (p) {
			free(p);
			continue;
		}
		CHECK(live[0] == 0x6b && live[n - 1] == 0x6b,
		      "realloc's failure damaged the %zu-byte block", n);
		free(live);
	}

	/* and the process goes on allocating normally */
	for (size_t n = 1; n <= 64 << 20; n *= 4) {
		p = malloc(n);
		CHECK(p != NULL, "malloc(%zu) after the failures", n);
		if (p) {
			memset(p, 1, n);
			CHECK(hak_owns(p), "malloc(%zu) is not hakmem's", n);
			free(p);
		}
	}
	printf("overcommit: mode %d, RAM+swap %llu MiB: 1 TiB refused\n", mode,
	       ram >> 20);
	return t_result();
}
