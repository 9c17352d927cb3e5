// SPDX-License-Identifier: MIT
/*
 * load_hakmem.c - dlopen() libhakmem.so itself, as a plugin would be,
 * instead of preloading or linking it, and use it through its hak_* names.
 *
 *   load_hakmem PATH/libhakmem.so [--dlclose]
 *
 * hakmem's thread state is initial-exec TLS (DESIGN.md: one TLS base, no
 * __tls_get_addr on the fast path), which a dlopen()ed library can only
 * have if the C library finds room for it in the static TLS block of every
 * thread.  glibc keeps a surplus for that (the glibc.rtld.optional_static_tls
 * tunable, 512 bytes by default) and hakmem needs a few bytes of it.  This
 * program reports what happened: if dlopen() fails it prints dlerror()
 * (e.g. "cannot allocate memory in static TLS block") and exits 3.
 * Otherwise it checks that
 *   - the process's malloc is still the C library's (RTLD_LOCAL, loaded
 *     after libc: nothing rebinds to hakmem's malloc),
 *   - hak_malloc/hak_realloc/hak_free work in the main thread, in a thread
 *     that existed before the dlopen() (its static TLS was set up by
 *     dlopen) and in threads created after it, with blocks freed by other
 *     threads than their allocator's,
 *   - threads that used hakmem exit cleanly (its thread-exit hook runs),
 * and prints "ok".  With --dlclose it then dlclose()s the library while a
 * thread that has used it is still alive and lets that thread exit: see
 * README.md (Using hakmem: dlopen) for what that does.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define BLOCKS 4000

static void *(*h_malloc)(size_t);
static void *(*h_realloc)(void *, size_t);
static void (*h_free)(void *);
static int (*h_owns)(const void *);
static size_t (*h_usable)(const void *);
static int bad;

static pthread_barrier_t loaded;	/* the early thread waits for dlopen */
static pthread_barrier_t closed;	/* the late thread waits for dlclose */

static void work(void **out, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		size_t sz = 1 + (i * 2654435761u + seed) % (i % 100 ? 600 : 300000);
		unsigned char *p = h_malloc(sz);

		if (!p || !h_owns(p) || h_usable(p) < sz) {
			bad++;
			continue;
		}
		memset(p, (int)(i & 0xff), sz);
		if (i % 7 == 0) {
			p = h_realloc(p, sz * 2);
			if (!p || !h_owns(p) || p[sz - 1] != (unsigned char)i) {
				bad++;
				continue;
			}
		}
		if (out)
			out[i] = p;
		else
			h_free(p);
	}
}

struct job {
	unsigned seed;
	void *blocks[BLOCKS];
};

static void *early(void *arg)
{
	pthread_barrier_wait(&loaded);
	work(NULL, BLOCKS, 99);
	work(((struct job *)arg)->blocks, BLOCKS, 98);
	return NULL;
}

static void *later(void *arg)
{
	struct job *j = arg;

	work(NULL, BLOCKS, j->seed);
	work(j->blocks, BLOCKS, j->seed + 1);	/* the main thread frees these */
	return NULL;
}

static void *lingering(void *arg)
{
	void *p = h_malloc(100);	/* this thread now has a hakmem heap */

	h_free(p);
	pthread_barrier_wait(&closed);
	return arg;			/* exits after the dlclose() */
}

static void free_all(void **blocks)
{
	for (size_t i = 0; i < BLOCKS; i++)
		h_free(blocks[i]);
}

int main(int argc, char **argv)
{
	static struct job jobs[THREADS + 1];
	pthread_t t[THREADS], e, l;
	void *h, *libc_block;

	if (argc < 2) {
		fprintf(stderr, "usage: load_hakmem PATH/libhakmem.so [--dlclose]\n");
		return 2;
	}
	pthread_barrier_init(&loaded, NULL, 2);
	pthread_barrier_init(&closed, NULL, 2);
	pthread_create(&e, NULL, early, &jobs[THREADS]);

	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("dlopen failed: %s\n", dlerror());
		return 3;
	}
	printf("dlopen: ok\n");
	h_malloc = dlsym(h, "hak_malloc");
	h_realloc = dlsym(h, "hak_realloc");
	h_free = dlsym(h, "hak_free");
	h_owns = dlsym(h, "hak_owns");
	h_usable = dlsym(h, "hak_usable_size");
	if (!h_malloc || !h_realloc || !h_free || !h_owns || !h_usable) {
		printf("dlsym failed: %s\n", dlerror());
		return 1;
	}

	libc_block = malloc(64);
	printf("process malloc is %s\n",
	       h_owns(libc_block) ? "hakmem's (unexpected)" : "still libc's");
	bad += h_owns(libc_block);
	free(libc_block);

	pthread_barrier_wait(&loaded);
	work(NULL, BLOCKS, 1);
	for (int k = 0; k < THREADS; k++) {
		jobs[k].seed = 10 + (unsigned)k;
		pthread_create(&t[k], NULL, later, &jobs[k]);
	}
	pthread_join(e, NULL);
	free_all(jobs[THREADS].blocks);
	for (int k = 0; k < THREADS; k++) {
		pthread_join(t[k], NULL);
		free_all(jobs[k].blocks);
	}
	printf("threads: %d created after dlopen, 1 before; %s\n", THREADS,
	       bad ? "FAILED" : "all blocks hakmem's and intact");

	if (argc > 2 && !strcmp(argv[2], "--dlclose")) {
		pthread_create(&l, NULL, lingering, NULL);
		usleep(100000);
		printf("dlclose: %d\n", dlclose(h));
		fflush(stdout);
		pthread_barrier_wait(&closed);
		pthread_join(l, NULL);
		printf("a thread that used hakmem exited after dlclose\n");
	}
	printf("%s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
