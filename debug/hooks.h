/* SPDX-License-Identifier: MIT */
/*
 * debug/hooks.h - the one small header through which the boxes call the
 * debug box.  Depends on hak_internal.h only.
 *
 * - hak_trace(): record an event in this thread's trace ring.  One
 *   predictable branch on a TLS pointer when HAKMEM_TRACE_RING is off; the
 *   fast paths never call it (with the ring on, every malloc and free takes
 *   the slow path, where the events are recorded).
 * - hak_prof_alloc()/hak_prof_free(): the heap profiler's hooks
 *   (HAKMEM_PROFILE), in the slow paths only: a flag test when it is off.
 *   On, the tiny box's shadow heaps send every malloc and free there.
 * - hak_lock_counted(): hak_lock() (hak_lock.h) with HAKMEM_STATS=1:
 *   count the acquisition of a global lock, and whether it was busy.
 * - hak_failfast(): a failed fail-fast check (HAK_FAILFAST builds): one
 *   line naming the check, class, slab, pointer and thread, then the trace
 *   rings, then a trap at the failing site.
 */
#ifndef HAK_DEBUG_HOOKS_H
#define HAK_DEBUG_HOOKS_H

#include <pthread.h>

#include "hak_internal.h"

enum hak_ev {
	HAK_EV_ALLOC = 1,	/* aux: request size */
	HAK_EV_FREE,		/* aux: 1 local, 0 remote */
	HAK_EV_REMOTE_PUSH,	/* ptr: block, aux: owner heap address */
	HAK_EV_DRAIN,		/* ptr: slab, aux: blocks drained */
	HAK_EV_ADOPT,		/* ptr: slab */
	HAK_EV_PUBLISH,		/* ptr: slab */
	HAK_EV_REFILL,		/* ptr: slab chosen */
	HAK_EV_MAP,		/* ptr: mapping, aux: bytes */
	HAK_EV_UNMAP,		/* ptr: mapping, aux: bytes */
	HAK_EV_NR
};

struct hak_trace_ring;

/* debug/trace.c */
extern __thread struct hak_trace_ring *hak_trace_cur HAK_TLS_IE;
void hak_trace_slow(unsigned ev, unsigned cls, const void *p, uintptr_t aux);
/* hak_trace_ring_new - a ring for a heap (kept with it); NULL if off */
struct hak_trace_ring *hak_trace_ring_new(void);
/* hak_trace_bind - record this thread's events into @ring (NULL: stop) */
void hak_trace_bind(struct hak_trace_ring *ring);
/* hak_trace_enabled - HAKMEM_TRACE_RING=1 was given */
bool hak_trace_enabled(void);
/* hak_trace_dump - every ring, oldest event first; async-signal-safe */
void hak_trace_dump(void);

/* debug/profile.c */
extern bool hak_prof_on __attribute__((visibility("hidden")));
void hak_prof_alloc_slow(void *p, size_t size);
void hak_prof_free_slow(void *p);

/* debug/lockstat.c: HAKMEM_STATS=1, written once at start-up while one
 * thread runs */
extern bool hak_lock_counting __attribute__((visibility("hidden")));
/* hak_lock_counted - lock @m (a trylock first, to see whether it was busy)
 * and count the acquisition under @name */
void hak_lock_counted(pthread_mutex_t *m, const char *name);

HAK_NORETURN HAK_SLOW void hak_failfast(const char *check, unsigned cls,
					const void *slab, const void *p);

HAK_FAST void hak_trace(unsigned ev, unsigned cls, const void *p,
			uintptr_t aux)
{
	if (hak_unlikely(hak_trace_cur != NULL))
		hak_trace_slow(ev, cls, p, aux);
}

/* hak_prof_alloc - @p (NULL: nothing) of @size bytes was just allocated */
HAK_FAST void hak_prof_alloc(void *p, size_t size)
{
	if (hak_unlikely(hak_prof_on) && p)
		hak_prof_alloc_slow(p, size);
}

/* hak_prof_free - block @p (its base) is being freed */
HAK_FAST void hak_prof_free(void *p)
{
	if (hak_unlikely(hak_prof_on))
		hak_prof_free_slow(p);
}

/* HAK_FF_CHECK - a fail-fast check, compiled in with HAK_FAILFAST only */
#define HAK_FF_CHECK(cond, check, cls, slab, p)				\
	do {								\
		if (HAK_FAILFAST && hak_unlikely(!(cond)))		\
			hak_failfast(check, cls, slab, p);		\
	} while (0)

#endif /* HAK_DEBUG_HOOKS_H */
