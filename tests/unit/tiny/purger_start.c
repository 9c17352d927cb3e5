// SPDX-License-Identifier: MIT
/*
 * unit/tiny/purger_start.c - a free never starts the purger thread
 * (superslab/purger.c), a malloc does.  glibc calls free with its
 * stack-cache lock held: pthread_join puts the thread's stack in its cache
 * and, past 40 MiB of cached stacks, frees the oldest ones' TLS
 * (__nptl_free_stacks -> _dl_deallocate_tls -> free); pthread_create takes
 * that lock first.  A free that started the purger there deadlocked
 * pthread_join with every signal blocked (larson and xfree-random at 8
 * threads under HAKMEM_STATS=1, where every free takes the slow path).
 *
 * In a child process, limited to 20 s (a deadlocked child blocks every
 * signal: the parent SIGKILLs it):
 *   1. a spawner thread creates W1..W4, 16 MiB stacks each, and exits:
 *      the workers' DTVs (glibc callocs them in pthread_create) are blocks
 *      of the spawner's heap, published at its exit;
 *   2. a burst of empty chunks, driven through the superslab box (no tiny
 *      slow path polls), makes the purger wanted but not started;
 *   3. the main thread joins W1..W4: the third join takes the cache past
 *      40 MiB and frees W1's DTV, a free into a published slab (tiny's
 *      free slow path) - with no purger thread started by it;
 *   4. a malloc's slow path starts it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "hakmem.h"
#include "superslab/superslab.h"
#include "unit/superslab/retain_test.h"

#ifndef HAK_ASAN
#define HAK_ASAN 0
#endif
#ifndef HAK_VALGRIND
#define HAK_VALGRIND 0
#endif

#define NW	4
#define STACK	(16UL << 20)	/* 3 of them pass glibc's 40 MiB cache */
#define CHUNKS	12		/* floor 4 + burst 16: all kept */

static pthread_t w[NW];
/* child()'s exit status: what went wrong */
static const char *const why[] = {
	[3] = "set-up failed",
	[4] = "the burst did not make the purger wanted (or it had started)",
	[5] = "a free started the purger",
	[6] = "a malloc's slow path did not start the purger",
};
#define NWHY	(int)(sizeof(why) / sizeof(why[0]))

static void *nothing(void *arg)
{
	return arg;
}

static void *spawner(void *arg)
{
	pthread_attr_t a;

	(void)arg;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, STACK);
	for (int i = 0; i < NW; i++)
		if (pthread_create(&w[i], &a, nothing, NULL))
			_exit(3);
	pthread_attr_destroy(&a);
	return NULL;
}

static int child(void)
{
	struct hak_slab *s[CHUNKS];
	pthread_t sp;
	void *volatile p;

	hak_ss_config(4 * SS_SIZE, 16 * SS_SIZE, 60000, 60000);
	if (pthread_create(&sp, NULL, spawner, NULL) || pthread_join(sp, NULL))
		return 3;
	for (int i = 0; i < CHUNKS; i++)
		if (!(s[i] = hak_ss_acquire(BIG)))
			return 3;
	for (int i = 0; i < CHUNKS; i++)
		hak_ss_release(s[i]);
	if (!hak_load_relaxed(&hak_ss_purger_pending) || purger_threads())
		return 4;	/* the set-up did not make it wanted */
	for (int i = 0; i < NW; i++)
		pthread_join(w[i], NULL);
	if (purger_threads())
		return 5;	/* a free started it */
	p = malloc(100000);	/* a class nobody used: the slow path */
	free(p);
	return purger_threads() == 1 ? 0 : 6;
}

int main(void)
{
	void *volatile first = malloc(1);
	int status = 0, waited = 0;
	pid_t pid;

#if defined(HAK_TEST_API_ONLY) || HAK_ASAN || HAK_VALGRIND
	free(first);
	return T_SKIP;
#endif
	if (!hak_owns(first)) {		/* glibc's pthread_join frees with it */
		free(first);
		return T_SKIP;
	}
	free(first);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child());
	if (!CHECK(pid > 0, "fork"))
		return t_result();
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited++ == 2000) {		/* 20 s */
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		nap_ms(10);
	}
	CHECK(!WIFSIGNALED(status), "the child hung in pthread_join (killed "
	      "after 20 s): a free started the purger under glibc's "
	      "stack-cache lock");
	if (WIFEXITED(status) && WEXITSTATUS(status) < NWHY)
		CHECK(!why[WEXITSTATUS(status)], "%s", why[WEXITSTATUS(status)]);
	if (CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "child status %d", status))
		printf("purger_start: %d joins freed their DTVs with the purger "
		       "wanted, no start and no deadlock; a malloc started it\n",
		       NW);
	return t_result();
}
