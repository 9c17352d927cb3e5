// SPDX-License-Identifier: MIT
/*
 * hard_remote_double.c - a thread that does not own a block frees it
 * twice, release hardening (issue 13).  Before the fix both frees were
 * pushed on the slab's remote queue, making a cycle: the owner then got
 * the same block from nearly every malloc (shown, then exit 0).
 */
#include <pthread.h>

#include "neg.h"

static void *volatile victim;

static void *twice(void *arg)
{
	(void)arg;
	free(victim);
	neg_say("negative: hard_remote_double: freeing %p again from "
		"another thread\n", victim);
	free(victim);		/* the bug */
	return NULL;
}

int main(void)
{
	pthread_t t;
	void *seen[64];
	int same = 0;

	victim = malloc(64);
	neg_prove("hard_remote_double", victim);
	pthread_create(&t, NULL, twice, NULL);
	pthread_join(t, NULL);
	/* let the owner drain: allocate the class until the block comes back */
	for (int i = 0; i < 20000; i++) {
		void *p = malloc(64);

		if (p == victim && ++same == 2) {
			neg_say("negative: hard_remote_double: NOT CAUGHT: "
				"%p handed out twice\n", p);
			return 0;
		}
		if (i < 64)
			seen[i] = p;
	}
	(void)seen;
	neg_say("negative: hard_remote_double: NOT CAUGHT\n");
	return 0;
}
