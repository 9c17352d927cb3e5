// SPDX-License-Identifier: MIT
/*
 * unit/debug/stats.c - HAKMEM_STATS=1 counts add up: after a known
 * workload (N allocations of assorted small sizes, M of them freed, some
 * by another thread), malloc_stats()'s totals moved by exactly N allocs
 * and M frees, so allocs - frees grew by the N - M blocks left live.
 * Re-executes itself with the option set.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "hakmem.h"
#include "helpers.h"
#include "unit/debug/debug_test.h"

#ifndef HAK_ASAN
#define HAK_ASAN 0
#endif
#ifndef HAK_VALGRIND
#define HAK_VALGRIND 0
#endif

#define N 10000
#define M 7000

static void *blocks[N];

static _Atomic int go, done;

/* created before the first snapshot: pthread_create and the thread's exit
 * allocate and free for themselves, outside the measured window */
static void *free_some(void *arg)
{
	(void)arg;
	while (!atomic_load(&go))
		usleep(100);
	for (int i = 0; i < M / 2; i++)
		free(blocks[i]);		/* remote frees */
	atomic_store(&done, 1);
	return NULL;
}

/* totals - (allocs, frees) from a malloc_stats() table on fd 2 */
static void snapshot(int fd, unsigned long *a, unsigned long *f)
{
	const char *buf = stats_table(fd);
	const char *t = strstr(buf, "  total ");

	if (!t || sscanf(t, "  total %lu %lu", a, f) != 2)
		{ dprintf(1, "no totals in: %s\n", buf); exit(1); }
}

static int child(void)
{
	int fds[2];
	unsigned long a0, f0, a1, f1;
	pthread_t t;

	if (pipe(fds))
		t_die("pipe");
	dup2(fds[1], 2);
	pthread_create(&t, NULL, free_some, NULL);
	snapshot(fds[0], &a0, &f0);
	for (int i = 0; i < N; i++)
		blocks[i] = malloc(1 + (size_t)(i * 37) % 900);
	atomic_store(&go, 1);
	while (!atomic_load(&done))
		usleep(100);
	for (int i = M / 2; i < M; i++)
		free(blocks[i]);
	snapshot(fds[0], &a1, &f1);
	pthread_join(t, NULL);
	printf("%lu %lu\n", a1 - a0, f1 - f0);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long da, df;
	char *env[] = { "HAKMEM_STATS=1", NULL };
	char out[128];
	int status;

#if defined(HAK_TEST_API_ONLY) || HAK_ASAN || HAK_VALGRIND
	return T_SKIP;
#endif
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child();
	status = rerun(argv, env, out, sizeof(out));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
	      status);
	/* the snapshots themselves may allocate nothing: counts are exact */
	CHECK(sscanf(out, "%lu %lu", &da, &df) == 2, "child said '%s'", out);
	CHECK(da == N, "allocs moved by %lu, want %d", da, N);
	CHECK(df == M, "frees moved by %lu, want %d", df, M);
	CHECK(da - df == N - M, "live blocks %lu, want %d", da - df, N - M);
	printf("stats: +%lu allocs, +%lu frees, %lu live\n", da, df, da - df);
	return t_result();
}
