// SPDX-License-Identifier: MIT
/*
 * superslab/purger.c - the thread that gives back what a program gone
 * idle left in the empty-chunk cache (docs/DESIGN.md "Giving memory
 * back").
 *
 * The cache keeps a burst of empty chunks past HAKMEM_RETAIN_MB for up to
 * HAKMEM_RETAIN_BURST_MS, so that a program that empties chunks and fills
 * them again at once (threads handing their blocks to the next ones, a
 * server between requests) does not unmap and fault them back.  Every
 * chunk release and purge ends the bursts that are due; this thread ends
 * them in a program that stops calling, and no burst is kept unless it
 * runs.  It starts after the first time a burst would have been kept (that
 * one is given back at once), never earlier: a program that never empties
 * more than HAKMEM_RETAIN_MB of chunks at once never gets it, and a
 * single-threaded program keeps no burst, so hakmem never makes it
 * multi-threaded.  Once running it also purges dirty chunks idle for the
 * decay window.
 *
 * It sleeps on a condition variable (CLOCK_MONOTONIC) until the next thing
 * falls due, with every signal blocked, takes only ss_lock (through
 * hak_ss_purge_due()) and then plock, never both, and allocates nothing.
 * pthread_create allocates (glibc callocs the new thread's DTV), so the
 * release that first would keep a burst only marks the purger wanted
 * (hak_ss_purger_pending); the tiny box starts it at the end of its malloc
 * slow path (hak_ss_purger_poll()), where its heap is whole and no hakmem
 * lock is held, and a malloc from pthread_create is an ordinary one.
 * Never from a free: glibc calls free with its stack-cache lock held
 * (pthread_join -> __nptl_free_stacks -> _dl_deallocate_tls), the lock
 * pthread_create takes first, so a start there deadlocked the thread with
 * every signal blocked (tests/unit/tiny/purger_start.c); glibc takes no
 * lock that pthread_create needs around a malloc.
 * If it cannot be created, bursts are switched off (hak_ss_burst_off()):
 * the fixed bound alone, as before.  A fork child has no purger and keeps
 * no burst until a malloc after its first would-be burst starts one.
 */
#define _GNU_SOURCE
#include "superslab/superslab.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "hak_lock.h"
#include "os/os.h"

#define PURGER_STACK	(64 * 1024)
/* a tick of CLOCK_MONOTONIC_COARSE: wake after the coarse clock, which
 * lags the fine one, has passed the deadline, not before */
#define PURGER_TICK_MS	5

enum { P_NONE, P_STARTING, P_RUNNING, P_FAILED };

/* acquire/release: RUNNING is stored after pcv is made, and a kicker
 * that reads it uses pcv */
static _Atomic int state;
/* relaxed: a hint that a burst waits; start() is decided by the CAS */
_Atomic bool hak_ss_purger_pending;
static pthread_mutex_t plock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pcv;		/* made by start(), CLOCK_MONOTONIC */
/* plock: the purger's next look; UINT64_MAX while it looks, so that a
 * kick meanwhile (something due sooner) lowers it and is not lost */
static uint64_t wake_at = UINT64_MAX;

/* sleep - plock held: until @ms (coarse ms) has passed, a kick, or a
 * spurious wake-up (the caller looks again either way) */
static void sleep_until(uint64_t ms)
{
	struct timespec ts;

	if (ms == UINT64_MAX) {
		pthread_cond_wait(&pcv, &plock);
		return;
	}
	ms += PURGER_TICK_MS;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	pthread_cond_timedwait(&pcv, &plock, &ts);
}

static void *run(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t next = hak_ss_purge_due();

		hak_lock(&plock);
		if (next < wake_at)
			wake_at = next;
		if (wake_at > hak_os_now_ms())
			sleep_until(wake_at);
		wake_at = UINT64_MAX;
		hak_unlock(&plock);
	}
	return NULL;
}

/* start - the one thread, called by the kicker that won P_STARTING */
static void start(void)
{
	pthread_condattr_t ca;
	pthread_attr_t a;
	sigset_t all, old;
	pthread_t t;
	int err;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pcv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, PURGER_STACK);
	/* the new thread inherits the mask: signals go to the program's */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, &a, run, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (err) {
		atomic_store_explicit(&state, P_FAILED, memory_order_relaxed);
		hak_ss_burst_off();
		return;
	}
	pthread_setname_np(t, "hakmem-purge");
	atomic_store_explicit(&state, P_RUNNING, memory_order_release);
}

bool hak_ss_purger_running(void)
{
	/* relaxed: a hint for keeping a burst; nothing is read through it */
	return atomic_load_explicit(&state, memory_order_relaxed) == P_RUNNING;
}

void hak_ss_purger_kick(uint64_t due_ms)
{
	int st = atomic_load_explicit(&state, memory_order_acquire);

	if (st == P_RUNNING) {
		hak_lock(&plock);
		if (due_ms < wake_at) {
			wake_at = due_ms;
			pthread_cond_signal(&pcv);
		}
		hak_unlock(&plock);
		return;
	}
	if (st == P_NONE)
		atomic_store_explicit(&hak_ss_purger_pending, true,
				      memory_order_relaxed);
}

void hak_ss_purger_start(void)
{
	int st = P_NONE;

	if (hak_lock_depth)
		return;		/* a later poll */
	atomic_store_explicit(&hak_ss_purger_pending, false,
			      memory_order_relaxed);
	/* relaxed: the winner alone goes on, and publishes with release */
	if (atomic_compare_exchange_strong_explicit(&state, &st, P_STARTING,
						    memory_order_relaxed,
						    memory_order_relaxed))
		start();
}

void hak_ss_purger_fork_prepare(void)
{
	pthread_mutex_lock(&plock);
}

void hak_ss_purger_fork_parent(void)
{
	pthread_mutex_unlock(&plock);
}

void hak_ss_purger_fork_child(void)
{
	/* the purger did not come along; the next burst starts one */
	if (atomic_load_explicit(&state, memory_order_relaxed) != P_FAILED)
		atomic_store_explicit(&state, P_NONE, memory_order_relaxed);
	wake_at = UINT64_MAX;
	atomic_store_explicit(&hak_ss_purger_pending, false,
			      memory_order_relaxed);
	pthread_mutex_init(&plock, NULL);
}
