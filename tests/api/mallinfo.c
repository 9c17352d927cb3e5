// SPDX-License-Identifier: MIT
/*
 * tests/api/mallinfo.c - mallinfo2()/mallinfo() report what hakmem holds
 * (fields as README "mallinfo2"), and malloc_stats() prints its whole
 * table even when the calling thread has a cancellation pending.
 *
 * Asserted, in one thread: allocating N bytes (small blocks, mid blocks,
 * one large block) raises uordblks by at least N, and freeing them lowers
 * it by at least 90% of N; a large block raises hblks by one and hblkhd by
 * its size; arena + hblkhd >= uordblks + fordblks - the fields add up;
 * mallinfo() equals mallinfo2() clamped to int.  Across threads: blocks
 * allocated by threads that then exit still count, and main's frees of
 * them lower uordblks; blocks main allocated and another thread freed
 * stop counting once main has called malloc_trim(0) (an owner takes
 * remote frees back at its next slow path; until then they count as in
 * use).  malloc_stats() in a thread with a pending deferred cancellation
 * writes every line (glibc disables cancellation around it; write(2) is a
 * cancellation point).
 *
 * Usage: mallinfo.t [--smoke].  Skipped where mallinfo2 and malloc_stats
 * are not hakmem's (HAK_TEST_API_ONLY flavours).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "helpers.h"

#ifndef HAK_TEST_API_ONLY
#define HAK_TEST_API_ONLY 0
#endif

#define NSMALL		4000	/* x 1000 B */
#define NMID		200	/* x 20000 B */
#define LARGE		(8u << 20)
#define NTHREADS	4
#define PER_THREAD	2000	/* x 2000 B */

static size_t total_small(void)
{
	return (size_t)NSMALL * 1000 + (size_t)NMID * 20000;
}

/* mallinfo() is deprecated (int fields); it is part of what is tested */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static void check_sums(const char *when)
{
	struct mallinfo2 m = mallinfo2();
	struct mallinfo o = mallinfo();

	CHECK(m.arena + m.hblkhd >= m.uordblks + m.fordblks,
	      "%s: arena %zu + hblkhd %zu < uordblks %zu + fordblks %zu", when,
	      m.arena, m.hblkhd, m.uordblks, m.fordblks);
	CHECK(m.keepcost <= m.fordblks, "%s: keepcost %zu > fordblks %zu",
	      when, m.keepcost, m.fordblks);
	CHECK(m.usmblks >= m.arena, "%s: peak usmblks %zu below arena %zu",
	      when, m.usmblks, m.arena);
	CHECK((size_t)o.arena == (m.arena > 0x7fffffff ? 0x7fffffff : m.arena),
	      "%s: mallinfo().arena %d vs %zu", when, o.arena, m.arena);
	CHECK(o.hblks == (int)m.hblks, "%s: mallinfo().hblks", when);
}

static void *keep_blocks(void *arg)
{
	void **v = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		v[i] = malloc(2000);
		if (v[i])
			memset(v[i], 7, 2000);
	}
	return NULL;
}

static void *free_blocks(void *arg)
{
	void **v = arg;

	for (int i = 0; i < PER_THREAD; i++)
		free(v[i]);
	return NULL;
}

static volatile int stats_returned;

static void *stats_cancelled(void *arg)
{
	int old;

	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old);
	pthread_cancel(pthread_self());	/* pending from here on */
	malloc_stats();
	/* reached only if malloc_stats let no cancellation act */
	stats_returned = 1;
	pthread_testcancel();
	return NULL;
}

static void test_stats_cancel(void)
{
	char path[] = "/tmp/hakmem-mallinfo-XXXXXX", buf[65536];
	int fd = mkstemp(path), saved = dup(2);
	pthread_t t;
	ssize_t n;
	void *ret;

	if (fd < 0 || saved < 0)
		t_die("mallinfo: mkstemp/dup");
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	pthread_create(&t, NULL, stats_cancelled, NULL);
	pthread_join(t, &ret);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	CHECK(ret == PTHREAD_CANCELED, "the thread was not cancelled at all");
	CHECK(strstr(buf, "hakmem: mapped=") != NULL,
	      "malloc_stats under a pending cancellation stopped early: %zd "
	      "bytes written: [%.200s]", n, buf);
	CHECK(stats_returned,
	      "malloc_stats under a pending cancellation: the thread was "
	      "cancelled inside it");
}

int main(int argc, char **argv)
{
	static void *small[NSMALL], *mid[NMID], *tv[NTHREADS][PER_THREAD];
	struct mallinfo2 m0, m1, m2;
	pthread_t t[NTHREADS];
	size_t n = total_small(), nt = (size_t)NTHREADS * PER_THREAD * 2000;
	void *big;

	(void)t_smoke(argc, argv);
	if (HAK_TEST_API_ONLY) {
		printf("SKIP mallinfo: mallinfo2 and malloc_stats are the "
		       "sanitizer's in this flavour\n");
		return T_SKIP;
	}
	free(malloc(1));
	m0 = mallinfo2();
	for (int i = 0; i < NSMALL; i++)
		small[i] = malloc(1000);
	for (int i = 0; i < NMID; i++)
		mid[i] = malloc(20000);
	m1 = mallinfo2();
	CHECK(m1.uordblks >= m0.uordblks + n,
	      "uordblks %zu -> %zu after allocating %zu bytes", m0.uordblks,
	      m1.uordblks, n);
	CHECK(m1.arena >= n, "arena %zu below the %zu bytes in use", m1.arena,
	      n);
	check_sums("small blocks live");

	big = malloc(LARGE);
	CHECK(big != NULL, "malloc(8 MiB)");
	memset(big, 1, 4096);
	__asm__ volatile("" : : "r"(big) : "memory");	/* keep the malloc */
	m2 = mallinfo2();
	CHECK(m2.hblks == m1.hblks + 1, "hblks %zu -> %zu after a large malloc",
	      m1.hblks, m2.hblks);
	CHECK(m2.hblkhd >= m1.hblkhd + LARGE, "hblkhd %zu -> %zu after 8 MiB",
	      m1.hblkhd, m2.hblkhd);
	CHECK(m2.uordblks >= m1.uordblks + LARGE,
	      "uordblks %zu -> %zu after 8 MiB", m1.uordblks, m2.uordblks);
	free(big);
	m2 = mallinfo2();
	CHECK(m2.hblks == m1.hblks, "hblks %zu after the large free (was %zu)",
	      m2.hblks, m1.hblks);

	for (int i = 0; i < NSMALL; i++)
		free(small[i]);
	for (int i = 0; i < NMID; i++)
		free(mid[i]);
	m2 = mallinfo2();
	CHECK(m2.uordblks + n - n / 10 <= m1.uordblks,
	      "uordblks %zu -> %zu after freeing %zu bytes", m1.uordblks,
	      m2.uordblks, n);
	check_sums("after the frees");

	/* blocks of threads that exit */
	m0 = mallinfo2();
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, keep_blocks, tv[i]);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	m1 = mallinfo2();
	CHECK(m1.uordblks >= m0.uordblks + nt,
	      "uordblks %zu -> %zu after %zu bytes in exited threads",
	      m0.uordblks, m1.uordblks, nt);
	for (int i = 0; i < NTHREADS; i++)
		for (int j = 0; j < PER_THREAD; j++)
			free(tv[i][j]);
	m2 = mallinfo2();
	CHECK(m2.uordblks + nt - nt / 10 <= m1.uordblks,
	      "uordblks %zu -> %zu after main freed the exited threads' "
	      "%zu bytes", m1.uordblks, m2.uordblks, nt);

	/* main's blocks freed by another thread */
	m0 = mallinfo2();
	for (int j = 0; j < PER_THREAD; j++)
		tv[0][j] = malloc(2000);
	m1 = mallinfo2();
	pthread_create(&t[0], NULL, free_blocks, tv[0]);
	pthread_join(t[0], NULL);
	malloc_trim(0);
	m2 = mallinfo2();
	CHECK(m1.uordblks >= m0.uordblks + PER_THREAD * 2000,
	      "uordblks %zu -> %zu after main's blocks", m0.uordblks,
	      m1.uordblks);
	CHECK(m2.uordblks + PER_THREAD * 2000 * 9 / 10 <= m1.uordblks,
	      "uordblks %zu -> %zu after another thread freed main's blocks "
	      "and malloc_trim", m1.uordblks, m2.uordblks);
	check_sums("at the end");
	printf("mallinfo2: arena %zu ordblks %zu smblks %zu hblks %zu hblkhd "
	       "%zu usmblks %zu fsmblks %zu uordblks %zu fordblks %zu "
	       "keepcost %zu\n", m2.arena, m2.ordblks, m2.smblks, m2.hblks,
	       m2.hblkhd, m2.usmblks, m2.fsmblks, m2.uordblks, m2.fordblks,
	       m2.keepcost);

	test_stats_cancel();
	return t_result();
}
