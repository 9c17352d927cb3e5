/* SPDX-License-Identifier: MIT */
/*
 * hak_lock.h - the allocator's global mutexes, taken through hak_lock() so
 * that a thread knows whether it is inside one of them.  Depends on
 * nothing of ours but debug/hooks.h (the lock counts).
 *
 * hakmem has eight global locks (fork.c takes them in their order,
 * hakmem/remote/README.md "Fork" lists it).  Every
 * acquisition goes through hak_lock()/hak_unlock(), which count the locks
 * this thread holds or waits for in hak_lock_depth.  The fork prepare
 * handler reads it: a fork() from a signal handler that interrupted this
 * thread inside one of them must not wait for a lock its own thread holds
 * (docs: hakmem/remote/README.md, "Fork").  None of them is ever taken on
 * a malloc/free fast path.
 *
 * With HAKMEM_STATS=1 (hak_lock_counting, set once at start-up) hak_lock()
 * counts each acquisition, and whether the lock was busy, under the name
 * of the call site's file and lock ("hakmem/tiny/heap.c:&pool_lock"):
 * debug/lockstat.c, printed with the statistics table.
 */
#ifndef HAK_LOCK_H
#define HAK_LOCK_H

#include <pthread.h>

#include "debug/hooks.h"
#include "hak_internal.h"

/* hakmem/fork.c: this thread's count of held (or awaited) global locks */
extern __thread unsigned hak_lock_depth HAK_TLS_IE;

#define hak_lock(m)	hak_lock_named((m), __FILE__ ":" #m)

/*
 * A busy lock is retried HAK_LOCK_SPINS times, a pause apart, before the
 * thread sleeps in the kernel: every global lock guards a few list
 * operations, far shorter than a futex wait and wake-up (transient
 * threads, 2 at a time: 2.2-2.6 k futex calls a run without the spin,
 * 0.3-0.4 k with it, mimalloc's level).  glibc's adaptive mutexes do the
 * same, but their initialiser is a GNU extension every includer would
 * need.
 */
#define HAK_LOCK_SPINS	100

/* hak_lock_wait - @m was busy: retry it a while, then sleep (hak_lock.c) */
void hak_lock_wait(pthread_mutex_t *m);

/* the count goes up before the wait: a signal that arrives while this
 * thread waits or holds sees it */
static inline void hak_lock_named(pthread_mutex_t *m, const char *name)
{
	hak_lock_depth++;
	if (hak_unlikely(hak_lock_counting))
		hak_lock_counted(m, name);
	else if (pthread_mutex_trylock(m))
		hak_lock_wait(m);
}

/* hak_trylock - take @m if it is free (true), counted in hak_lock_depth
 * while this thread tries and holds it; never waits (not in the lock
 * counts: it does not contend) */
static inline bool hak_trylock(pthread_mutex_t *m)
{
	hak_lock_depth++;
	if (!pthread_mutex_trylock(m))
		return true;
	hak_lock_depth--;
	return false;
}

static inline void hak_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
	hak_lock_depth--;
}

#endif /* HAK_LOCK_H */
