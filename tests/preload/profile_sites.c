// SPDX-License-Identifier: MIT
/*
 * profile_sites.c - a program for tests/preload/profile.sh: three
 * allocation sites hold 60%, 30% and 10% of the live bytes at exit, a
 * fourth allocates as much again and frees all of it (0% live).  Each site
 * is its own non-inlined function, so a heap profile must name it as the
 * allocating frame.  Prints the live bytes it holds per site.
 *
 *   profile_sites [--dump | --signal]
 *     --dump     also call hak_profile_dump() (found with dlsym: the
 *                program links libc only); exit 1 if it fails
 *     --signal   raise SIGUSR2, then require $HAKMEM_PROFILE (no %p) to
 *                exist and be non-empty: the profile written on the signal
 *                (the caller removes the file before); exit 1 if not
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#define MIB		(1024u * 1024u)
#define LARGE_SZ	(256u * 1024u)	/* hakmem's large blocks */
#define MID_SZ		1024u		/* a tiny size class */
#define SMALL_SZ	48u		/* another */

static void *keep[160000];	/* not malloc()ed: only the sites hold bytes */
static size_t nkeep;

/* one site per function (noipa: not folded into one by identical code
 * folding); the barrier keeps malloc from being a tail call */
#define SITE(name, id)							\
	__attribute__((noipa)) void *name(size_t n)			\
	{								\
		void *p = malloc(n);					\
		if (!p)							\
			abort();					\
		memset(p, id, n < 64 ? n : 64);				\
		__asm__ volatile("" : : "r"(p) : "memory");		\
		return p;						\
	}

SITE(site_sixty, 1)
SITE(site_thirty, 2)
SITE(site_ten, 3)
SITE(site_churn, 4)

int main(int argc, char **argv)
{
	size_t a = 0, b = 0, c = 0;

	/* interleaved, so that no site gets a lucky stretch of the sampler */
	while (a < 36 * MIB || b < 18 * MIB || c < 6 * MIB) {
		if (a < 36 * MIB) {
			keep[nkeep++] = site_sixty(LARGE_SZ);
			a += LARGE_SZ;
		}
		for (int i = 0; i < 128 && b < 18 * MIB; i++, b += MID_SZ)
			keep[nkeep++] = site_thirty(MID_SZ);
		for (int i = 0; i < 896 && c < 6 * MIB; i++, c += SMALL_SZ)
			keep[nkeep++] = site_ten(SMALL_SZ);
		for (int i = 0; i < 256; i++)
			free(site_churn(100 + (size_t)i));
	}
	printf("site_sixty %zu\nsite_thirty %zu\nsite_ten %zu\n", a, b, c);
	if (argc > 1 && !strcmp(argv[1], "--dump")) {
		int (*dump)(void) = (int (*)(void))dlsym(RTLD_DEFAULT,
							 "hak_profile_dump");

		if (!dump || dump() != 0) {
			fprintf(stderr, "hak_profile_dump() %s\n",
				dump ? "failed" : "not found");
			return 1;
		}
	}
	if (argc > 1 && !strcmp(argv[1], "--signal")) {
		const char *f = getenv("HAKMEM_PROFILE");
		struct stat st;

		raise(SIGUSR2);
		if (!f || stat(f, &st) || st.st_size == 0) {
			fprintf(stderr, "no profile written on SIGUSR2\n");
			return 1;
		}
		fprintf(stderr, "profile written on SIGUSR2\n");
	}
	fflush(stdout);
	return 0;
}
