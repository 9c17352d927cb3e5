// SPDX-License-Identifier: MIT
/*
 * host.c - dlopen()s tests/dlopen/plugin.c's libplugin.so and trades
 * blocks with it: blocks the library malloc()s are checked, realloc()ed and
 * freed here; blocks made here are resized and freed there, or kept by the
 * library until its destructor frees them at dlclose(); a thread of the
 * library's allocates a batch that this thread frees after that thread has
 * exited, and threads of ours allocate blocks that the library frees.  The
 * library is loaded and unloaded ROUNDS times.
 *
 *   host PATH/libplugin.so [ROUNDS]         (default 3 rounds)
 *
 * Linked with libc and libdl only.  Under LD_PRELOAD=libhakmem.so it finds
 * hak_owns() with dlsym(RTLD_DEFAULT) and requires every block that either
 * side allocated to be hakmem's (a line on stderr says how many it
 * checked); without hakmem it checks nothing of that kind.  stdout is the
 * same either way: tests/preload/dlopen.sh compares it.  Exit 0 on success.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define N 20000
#define THREADS 4
#define PER_THREAD 3000

static int (*owns)(const void *);
static unsigned long owned, checked, failures;

static void *(*p_make)(size_t, unsigned);
static void *(*p_make_aligned)(size_t, size_t, unsigned);
static int (*p_take)(void *, size_t, unsigned);
static void *(*p_resize)(void *, size_t, size_t, unsigned);
static int (*p_keep)(void *);
static char *(*p_concat)(const char *, const char *);
static int (*p_thread_batch)(size_t, unsigned, void ***, size_t **);
static const char *(*p_greeting)(void);

#define FAIL(...) do { \
	fprintf(stderr, "host: " __VA_ARGS__); \
	fputc('\n', stderr); \
	failures++; \
} while (0)

static void prove(const void *p)
{
	if (!owns || !p)
		return;
	checked++;
	if (owns(p))
		owned++;
}

static void *sym(void *h, const char *name)
{
	void *s = dlsym(h, name);

	if (!s) {
		fprintf(stderr, "host: dlsym %s: %s\n", name, dlerror());
		exit(1);
	}
	return s;
}

struct handoff {
	unsigned seed;
	void *blocks[PER_THREAD];
	size_t sizes[PER_THREAD];
};

static void *our_thread(void *arg)
{
	struct handoff *h = arg;

	for (size_t i = 0; i < PER_THREAD; i++) {
		h->sizes[i] = size_for(i, h->seed);
		h->blocks[i] = malloc(h->sizes[i]);
		if (h->blocks[i])
			fill(h->blocks[i], h->sizes[i], h->seed + (unsigned)i);
	}
	return NULL;
}

static uint64_t round_trip(const char *path, unsigned round)
{
	static void *blocks[N];
	static size_t sizes[N];
	uint64_t sum = 0;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "host: dlopen %s: %s\n", path, dlerror());
		exit(1);
	}
	p_make = sym(h, "plugin_make");
	p_make_aligned = sym(h, "plugin_make_aligned");
	p_take = sym(h, "plugin_take");
	p_resize = sym(h, "plugin_resize");
	p_keep = sym(h, "plugin_keep");
	p_concat = sym(h, "plugin_concat");
	p_thread_batch = sym(h, "plugin_thread_batch");
	p_greeting = sym(h, "plugin_greeting");
	if (strcmp(p_greeting(), "plugin loaded"))
		FAIL("constructor's block lost");

	/* 1. theirs -> ours: check, grow half here, free everything here */
	for (size_t i = 0; i < N; i++) {
		unsigned seed = round * 100000 + (unsigned)i;

		sizes[i] = size_for(i, round);
		blocks[i] = p_make(sizes[i], seed);
		if (!blocks[i])
			FAIL("plugin_make(%zu) failed", sizes[i]);
		prove(blocks[i]);
	}
	for (size_t i = 0; i < N; i++) {
		unsigned seed = round * 100000 + (unsigned)i;

		if (check(blocks[i], sizes[i], seed))
			FAIL("plugin block %zu corrupt", i);
		if (i % 2) {
			unsigned char *q = realloc(blocks[i], sizes[i] * 2 + 7);

			if (!q || check(q, sizes[i], seed))
				FAIL("realloc of plugin block %zu", i);
			blocks[i] = q;
			prove(q);
		}
		sum += sizes[i];
		free(blocks[i]);
	}

	/* 2. ours -> theirs: they resize (realloc) and free, or keep */
	for (size_t i = 0; i < N; i++) {
		unsigned seed = round * 7 + (unsigned)i;
		size_t n = size_for(i, round + 11);
		unsigned char *p = malloc(n);

		if (!p) {
			FAIL("malloc(%zu)", n);
			continue;
		}
		fill(p, n, seed);
		prove(p);
		if (i % 5 == 0 && i / 5 < 1000) {
			if (p_keep(p))
				FAIL("plugin_keep");
			continue;
		}
		if (i % 3 == 0) {
			size_t m = i % 2 ? n / 2 + 1 : n * 3;

			p = p_resize(p, n, m, seed);
			if (!p) {
				FAIL("plugin_resize %zu -> %zu", n, m);
				continue;
			}
			prove(p);
			n = m;
			seed++;
		}
		if (p_take(p, n, seed))
			FAIL("our block %zu corrupt in the plugin", i);
		sum += n;
	}

	/* 3. aligned blocks from there, freed here */
	for (size_t a = 16; a <= 65536; a *= 4) {
		void *p = p_make_aligned(a, a * 3 + 5, (unsigned)a);

		if (!p || (uintptr_t)p % a)
			FAIL("plugin_make_aligned(%zu)", a);
		prove(p);
		free(p);
		sum += a;
	}

	/* 4. a plugin thread's blocks, freed here after it has exited */
	void **tb;
	size_t *ts;

	if (p_thread_batch(5000, round, &tb, &ts)) {
		FAIL("plugin_thread_batch");
	} else {
		for (size_t i = 0; i < 5000; i++) {
			if (check(tb[i], ts[i], round + (unsigned)i))
				FAIL("plugin thread block %zu", i);
			prove(tb[i]);
			sum += ts[i];
			free(tb[i]);
		}
		prove(tb);
		free(tb);
		free(ts);
	}

	/* 5. our threads' blocks, freed by the plugin in this thread */
	static struct handoff ho[THREADS];
	pthread_t t[THREADS];

	for (int k = 0; k < THREADS; k++) {
		ho[k].seed = round * 1000 + (unsigned)k;
		pthread_create(&t[k], NULL, our_thread, &ho[k]);
	}
	for (int k = 0; k < THREADS; k++) {
		pthread_join(t[k], NULL);
		for (size_t i = 0; i < PER_THREAD; i++) {
			prove(ho[k].blocks[i]);
			if (p_take(ho[k].blocks[i], ho[k].sizes[i],
				   ho[k].seed + (unsigned)i))
				FAIL("thread %d block %zu", k, i);
			sum += ho[k].sizes[i];
		}
	}

	/* 6. a string built there with stdio, freed here */
	char *s = p_concat("round", round % 2 ? "odd" : "even");

	prove(s);
	printf("round %u: %s, %llu bytes traded\n", round, s ? s : "(null)",
	       (unsigned long long)sum);
	free(s);

	if (dlclose(h))
		FAIL("dlclose: %s", dlerror());
	return sum;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 3;
	uint64_t total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: host PATH/libplugin.so [ROUNDS]\n");
		return 2;
	}
	owns = (int (*)(const void *))dlsym(RTLD_DEFAULT, "hak_owns");
	for (unsigned r = 0; r < rounds; r++)
		total += round_trip(argv[1], r);
	printf("total %llu bytes, %lu failures\n", (unsigned long long)total,
	       failures);
	if (owns) {
		fprintf(stderr, "host: hak_owns: %lu of %lu blocks checked are "
			"hakmem's\n", owned, checked);
		if (owned != checked)
			failures++;
	}
	return failures ? 1 : 0;
}
