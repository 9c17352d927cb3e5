// SPDX-License-Identifier: MIT
/*
 * race.c - hands a hakmem block to another thread through a relaxed atomic
 * (no happens-before) and both threads write it.  tsan: "WARNING:
 * ThreadSanitizer: data race".  Built for tsan with tests/hak_api_names.h,
 * so malloc here is hak_malloc.
 */
#include <pthread.h>

#include "neg.h"

static int *handed;		/* written and read with __atomic_*, relaxed */
static int go;

static void *writer(void *arg)
{
	int *p;

	(void)arg;
	while (!(p = __atomic_load_n(&handed, __ATOMIC_RELAXED)))
		;
	p[1] = 2;		/* the bug: races with main's write */
	__atomic_store_n(&go, 1, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	pthread_t t;
	int *p = malloc(16 * sizeof(int));

	neg_prove("race", p);
	if (pthread_create(&t, NULL, writer, NULL))
		return 1;
	neg_say("negative: race: block %p written by two threads\n",
		(void *)p);
	__atomic_store_n(&handed, p, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&go, __ATOMIC_RELAXED))
		;
	p[1] = 1;		/* the bug */
	pthread_join(t, NULL);
	free(p);
	return 0;
}
