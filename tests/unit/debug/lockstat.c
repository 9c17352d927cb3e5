// SPDX-License-Identifier: MIT
/*
 * unit/debug/lockstat.c - HAKMEM_STATS=1 counts the global locks: every
 * thread that allocates takes the tiny box's heap-pool lock when it gets a
 * heap and again when it exits, so after NT threads malloc and exit,
 * malloc_stats()'s "hakmem: lock tiny/heap.c:pool_lock acquired=N" line
 * moved by at least 2 NT.  Without HAKMEM_STATS there is no lock line.
 * Re-executes itself with and without the option.
 */
#include <malloc.h>
#include <pthread.h>
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

#define NT 8
#define POOL_LINE "hakmem: lock tiny/heap.c:pool_lock acquired="

static void *volatile keep;	/* a malloc the compiler cannot drop */

static void *touch(void *arg)
{
	(void)arg;
	keep = malloc(48);
	free(keep);
	return NULL;
}

/* the pool lock's acquisitions from a malloc_stats() table on @fd; -1 if
 * it has no such line, -2 if it has no lock line at all */
static long snapshot(int fd)
{
	const char *buf = stats_table(fd), *l;

	l = strstr(buf, POOL_LINE);
	if (l)
		return strtol(l + strlen(POOL_LINE), NULL, 10);
	return strstr(buf, "hakmem: lock ") ? -1 : -2;
}

static int child(void)
{
	pthread_t t[NT];
	long a0, a1;
	int fds[2];

	if (pipe(fds))
		t_die("pipe");
	dup2(fds[1], 2);
	touch(NULL);			/* start-up done */
	a0 = snapshot(fds[0]);
	for (int i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, touch, NULL);
	for (int i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	a1 = snapshot(fds[0]);
	printf("%ld %ld\n", a0, a1);
	return 0;
}

/* run ourselves with @env; the child's two snapshots */
static void run(char **argv, char *env[], long *a0, long *a1)
{
	char out[128];
	int status = rerun(argv, env, out, sizeof(out));

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
	      status);
	if (!CHECK(sscanf(out, "%ld %ld", a0, a1) == 2, "child said '%s'",
		   out))
		*a0 = *a1 = -3;
}

int main(int argc, char **argv)
{
	char *on[] = { "HAKMEM_STATS=1", NULL }, *off[] = { NULL };
	long a0, a1;

#if defined(HAK_TEST_API_ONLY) || HAK_ASAN || HAK_VALGRIND
	return T_SKIP;
#endif
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child();
	run(argv, on, &a0, &a1);
	CHECK(a0 >= 0 && a1 >= 0, "no pool_lock line with HAKMEM_STATS=1 "
	      "(%ld, %ld)", a0, a1);
	CHECK(a1 - a0 >= 2 * NT, "pool_lock taken %ld times by %d threads' "
	      "start and exit, want at least %d", a1 - a0, NT, 2 * NT);
	printf("lockstat: pool_lock %ld -> %ld over %d threads\n", a0, a1,
	       NT);
	run(argv, off, &a0, &a1);
	CHECK(a0 == -2 && a1 == -2, "lock lines without HAKMEM_STATS (%ld, "
	      "%ld)", a0, a1);
	return t_result();
}
