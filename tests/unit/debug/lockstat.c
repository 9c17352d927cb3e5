// SPDX-License-Identifier: MIT
/*
 * unit/debug/lockstat.c - HAKMEM_STATS=1 counts the global locks: every
 * thread that allocates takes the tiny box's heap-pool lock when it gets a
 * heap and again when it exits, so after NT threads malloc and exit,
 * malloc_stats()'s "hakmem: lock tiny/heap.c:pool_lock acquired=N" line
 * moved by at least 2 NT.  A thread that exits holding blocks of NCLS
 * classes publishes NCLS slabs to the mailbox under one acquisition of its
 * lock (tiny/heap.c:publish_all, a batch): the mailbox lock's line moves
 * by 2, the exit's batch and the mailbox count that malloc_stats() itself
 * takes after printing the line (it moved by about NCLS + 1 when each slab
 * took the lock).  Without
 * HAKMEM_STATS there is no lock line.  Re-executes itself with and
 * without the option.
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
#define NCLS 16
#define POOL_LINE "hakmem: lock tiny/heap.c:pool_lock acquired="
#define MBOX_LINE "hakmem: lock remote/mailbox.c:mbox_lock acquired="

static void *volatile keep;	/* a malloc the compiler cannot drop */
static void *left[NCLS];	/* what leaver() leaves behind */

static void *touch(void *arg)
{
	(void)arg;
	keep = malloc(48);
	free(keep);
	return NULL;
}

/* a thread that leaves one block in each of NCLS classes (16 B .. 1 KiB
 * and up): it exits owning NCLS slabs that still hold blocks */
static void *leaver(void *arg)
{
	(void)arg;
	for (int i = 0; i < NCLS; i++)
		left[i] = malloc(16 + 64 * (size_t)i);
	return NULL;
}

/* the acquisitions of lock @line from a malloc_stats() table on @fd; -1
 * if it has no such line, -2 if it has no lock line at all */
static long snapshot_of(int fd, const char *line)
{
	const char *buf = stats_table(fd), *l;

	l = strstr(buf, line);
	if (l)
		return strtol(l + strlen(line), NULL, 10);
	return strstr(buf, "hakmem: lock ") ? -1 : -2;
}

static long snapshot(int fd)
{
	return snapshot_of(fd, POOL_LINE);
}

static int child(void)
{
	pthread_t t[NT];
	long a0, a1, m0, m1;
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
	/* nothing is published yet: the leaver's mallocs find the mailbox
	 * empty without its lock; its exit is the only taker */
	m0 = snapshot_of(fds[0], MBOX_LINE);
	pthread_create(&t[0], NULL, leaver, NULL);
	pthread_join(t[0], NULL);
	m1 = snapshot_of(fds[0], MBOX_LINE);
	for (int i = 0; i < NCLS; i++)
		free(left[i]);
	printf("%ld %ld %ld %ld\n", a0, a1, m0, m1);
	return 0;
}

/* run ourselves with @env; the child's four snapshots */
static void run(char **argv, char *env[], long a[4])
{
	char out[128];
	int status = rerun(argv, env, out, sizeof(out));

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
	      status);
	if (!CHECK(sscanf(out, "%ld %ld %ld %ld", &a[0], &a[1], &a[2],
			  &a[3]) == 4, "child said '%s'", out))
		a[0] = a[1] = a[2] = a[3] = -3;
}

int main(int argc, char **argv)
{
	char *on[] = { "HAKMEM_STATS=1", NULL }, *off[] = { NULL };
	long a[4];

#if defined(HAK_TEST_API_ONLY) || HAK_ASAN || HAK_VALGRIND
	return T_SKIP;
#endif
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child();
	run(argv, on, a);
	CHECK(a[0] >= 0 && a[1] >= 0, "no pool_lock line with HAKMEM_STATS=1 "
	      "(%ld, %ld)", a[0], a[1]);
	CHECK(a[1] - a[0] >= 2 * NT, "pool_lock taken %ld times by %d "
	      "threads' start and exit, want at least %d", a[1] - a[0], NT,
	      2 * NT);
	printf("lockstat: pool_lock %ld -> %ld over %d threads\n", a[0], a[1],
	       NT);
	CHECK(a[2] >= 0 && a[3] >= 0, "no mbox_lock line with HAKMEM_STATS=1 "
	      "(%ld, %ld)", a[2], a[3]);
	CHECK(a[3] - a[2] == 2, "mbox_lock taken %ld "
	      "times by one thread exit publishing %d classes' slabs and one "
	      "malloc_stats(), want 2 (one batch)", a[3] - a[2], NCLS);
	printf("lockstat: mbox_lock %ld -> %ld over an exit with %d classes\n",
	       a[2], a[3], NCLS);
	run(argv, off, a);
	CHECK(a[0] == -2 && a[1] == -2 && a[2] == -2 && a[3] == -2,
	      "lock lines without HAKMEM_STATS (%ld, %ld, %ld, %ld)", a[0],
	      a[1], a[2], a[3]);
	return t_result();
}
