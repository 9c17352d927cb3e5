/* SPDX-License-Identifier: MIT */
/*
 * hak_lock.h - the allocator's global mutexes, taken through hak_lock() so
 * that a thread knows whether it is inside one of them.  Depends on
 * nothing of ours but debug/hooks.h (the lock counts).
 *
 * hakmem has seven global locks (fork.c lists them in their order).  Every
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

/* the count goes up before the wait: a signal that arrives while this
 * thread waits or holds sees it */
static inline void hak_lock_named(pthread_mutex_t *m, const char *name)
{
	hak_lock_depth++;
	if (hak_unlikely(hak_lock_counting))
		hak_lock_counted(m, name);
	else
		pthread_mutex_lock(m);
}

static inline void hak_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
	hak_lock_depth--;
}

#endif /* HAK_LOCK_H */
