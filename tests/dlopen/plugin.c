// SPDX-License-Identifier: MIT
/*
 * plugin.c - libplugin.so for tests/dlopen/host.c: a library that a program
 * dlopen()s and dlclose()s, and that allocates and frees across that
 * boundary in both directions, from its own threads too.  Linked with libc
 * only: whatever malloc the process has serves it.
 *
 * Blocks handed out are filled with fill(p, n, seed) and checked with
 * check(); both sides use the same formula (tests/dlopen/pattern.h).
 * Blocks the host gives to plugin_keep() live until the library's
 * destructor frees them, at dlclose().
 */
#define _GNU_SOURCE	/* asprintf */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define KEEP_MAX 4096

static void *kept[KEEP_MAX];
static size_t nkept;
static char *greeting;			/* allocated by the constructor */
static __thread char *tls_scratch;	/* dynamic TLS of a dlopen()ed library */

__attribute__((constructor)) static void plugin_init(void)
{
	greeting = strdup("plugin loaded");
}

__attribute__((destructor)) static void plugin_fini(void)
{
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	nkept = 0;
	free(greeting);
	greeting = NULL;
}

const char *plugin_greeting(void)
{
	return greeting;
}

/* plugin_make - a new block of @n bytes, filled for @seed */
void *plugin_make(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);

	if (p)
		fill(p, n, seed);
	return p;
}

/* plugin_make_aligned - the same from posix_memalign */
void *plugin_make_aligned(size_t align, size_t n, unsigned seed)
{
	void *p;

	if (posix_memalign(&p, align, n))
		return NULL;
	fill(p, n, seed);
	return p;
}

/* plugin_take - check a block the host made and free it; 0 if it was intact */
int plugin_take(void *p, size_t n, unsigned seed)
{
	int bad = check(p, n, seed);

	free(p);
	return bad;
}

/* plugin_resize - realloc a host block from @old to @n bytes and refill it */
void *plugin_resize(void *p, size_t old, size_t n, unsigned seed)
{
	unsigned char *q;

	if (check(p, old, seed))
		return NULL;
	q = realloc(p, n);
	if (q)
		fill(q, n, seed + 1);
	return q;
}

/* plugin_keep - keep a host block until dlclose(); 0 if kept */
int plugin_keep(void *p)
{
	if (nkept == KEEP_MAX)
		return -1;
	kept[nkept++] = p;
	return 0;
}

/* plugin_concat - a fresh string, built with the library's own stdio */
char *plugin_concat(const char *a, const char *b)
{
	char *s;

	/* some per-thread scratch that lives in this library's TLS */
	free(tls_scratch);
	tls_scratch = strdup(a);
	if (asprintf(&s, "%s+%s", tls_scratch, b) < 0)
		return NULL;
	return s;
}

struct batch {
	size_t count;
	unsigned seed;
	void **blocks;
	size_t *sizes;
};

static void *make_batch(void *arg)
{
	struct batch *b = arg;

	for (size_t i = 0; i < b->count; i++) {
		b->sizes[i] = size_for(i, b->seed);
		b->blocks[i] = plugin_make(b->sizes[i], b->seed + (unsigned)i);
	}
	free(tls_scratch);	/* this thread's copy, if any */
	tls_scratch = NULL;
	return NULL;
}

/*
 * plugin_thread_batch - a thread of the library's own allocates @count
 * blocks and exits; the host gets them (and frees them, in its thread).
 * The arrays are malloc()ed here too.  0 on success.
 */
int plugin_thread_batch(size_t count, unsigned seed, void ***blocks,
			size_t **sizes)
{
	struct batch b = { count, seed, malloc(count * sizeof(void *)),
			   malloc(count * sizeof(size_t)) };
	pthread_t t;

	if (!b.blocks || !b.sizes || pthread_create(&t, NULL, make_batch, &b))
		return -1;
	pthread_join(t, NULL);
	*blocks = b.blocks;
	*sizes = b.sizes;
	return 0;
}
