// SPDX-License-Identifier: MIT
/*
 * owns.c - the program tests/install/install.sh builds against an installed
 * hakmem (pkg-config hakmem), dynamically and statically.  It allocates
 * through the C library's names (malloc, calloc, realloc, posix_memalign,
 * strdup), from two threads, and prints whether hakmem owns each block:
 * every line must say 1.  Exit 0 only if all do.
 */
#define _GNU_SOURCE
#include <hakmem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad;

static void show(const char *what, void *p)
{
	int owned = p && hak_owns(p);

	printf("%s: hak_owns=%d\n", what, owned);
	bad += !owned;
}

static void *thread(void *arg)
{
	void *p = malloc(64);

	show("malloc(64) in a thread", p);
	return p;	/* freed by the main thread */
}

int main(void)
{
	pthread_t t;
	void *p, *q, *r = NULL, *s;
	struct hak_stats st;

	p = malloc(100);
	show("malloc(100)", p);
	q = calloc(10, 1000);
	show("calloc(10, 1000)", q);
	p = realloc(p, 300000);
	show("realloc(p, 300000)", p);
	show("posix_memalign(4096)", posix_memalign(&r, 4096, 5000) ? NULL : r);
	s = strdup("x");
	show("strdup", s);
	free(s);
	free(q);
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, &q);
	free(q);
	free(p);
	free(r);
	hak_stats_get(&st);
	printf("hakmem %s: %s\n", hak_version(),
	       st.chunks > 0 ? "chunks mapped" : "no chunks?");
	return bad || !st.chunks;
}
