// SPDX-License-Identifier: MIT
/*
 * hard_poison.c MODE SIZE - free-list poisoning, release hardening (issue
 * 13): an attacker's write into a freed block's link, then mallocs of the
 * class.  Before the fix the second malloc returned the address written
 * there (a global here), shown before exit 0.
 *
 *   uaf8      8-byte write after free into the freed block
 *   over16    a neighbour overflows by 16 bytes into the freed block
 *   over9     a neighbour overflows by 9 bytes: one byte of the link (the
 *             old build then returned a misaligned pointer and crashed)
 *   remote    8-byte write after free into a block another thread freed
 *             (it waits in the slab's remote queue)
 */
#include <pthread.h>
#include <stdint.h>

#include "neg.h"

static char target[256] __attribute__((aligned(64)));
static void *volatile pair[2];

static void *free_pair(void *arg)
{
	(void)arg;
	free(pair[0]);
	free(pair[1]);
	return NULL;
}

static int check(void *p, size_t size)
{
	if (p == target || (char *)p < (char *)pair[0] - (1 << 22) ||
	    ((uintptr_t)p & 15)) {
		neg_say("negative: hard_poison: NOT CAUGHT: malloc(%zu) "
			"returned %p (target %p)\n", size, p, (void *)target);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "uaf8";
	size_t size = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	char *a = malloc(size), *b = malloc(size);

	neg_prove("hard_poison", a);
	pair[0] = a;
	pair[1] = b;
	if (!strcmp(mode, "remote")) {
		pthread_t t;

		pthread_create(&t, NULL, free_pair, NULL);
		b = neg_launder(b);
		pthread_join(t, NULL);
		neg_say("negative: hard_poison: writing %p into %p, freed by "
			"another thread\n", (void *)target, (void *)b);
		*(void *volatile *)b = target;		/* the bug */
		for (int i = 0; i < 100000; i++)
			if (check(malloc(size), size))
				return 0;
		neg_say("negative: hard_poison: NOT CAUGHT\n");
		return 0;
	}
	/* the overflows reach b when it follows a (it does in release and
	 * failfast; asan-preload and valgrind put a redzone in between, and
	 * report the write into it) */
	if (b != a + size)
		neg_say("negative: hard_poison: blocks %p %p not adjacent\n",
			(void *)a, (void *)b);
	/* the compiler must not see the bug: b, laundered, after the free */
	a = neg_launder(a);
	b = neg_launder(b);
	free(pair[1]);
	if (!strcmp(mode, "uaf8")) {
		neg_say("negative: hard_poison: writing %p into freed %p\n",
			(void *)target, (void *)b);
		*(void *volatile *)b = target;		/* the bug */
	} else {
		size_t over = !strcmp(mode, "over9") ? 9 : 16;
		char buf[16];
		void *t = target;

		memset(buf, 0x41, sizeof(buf));
		memcpy(buf, &t, sizeof(t));
		buf[0] = 0x08;	/* over9: the link's low byte */
		if (over == 16)
			memcpy(buf, &t, sizeof(t));
		neg_say("negative: hard_poison: %zu bytes past %p into freed "
			"%p\n", over, (void *)a, (void *)b);
		memcpy(neg_launder(a) + size, buf, over);	/* the bug */
	}
	for (int i = 0; i < 2; i++)
		if (check(malloc(size), size))
			return 0;
	neg_say("negative: hard_poison: NOT CAUGHT\n");
	return 0;
}
