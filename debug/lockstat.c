// SPDX-License-Identifier: MIT
/*
 * debug/lockstat.c - how often each global lock is taken, and how often
 * it was busy (HAKMEM_STATS=1): the figures behind "which lock saturates
 * first" as threads are added (make bench-scaling).
 *
 * hak_lock() (hak_lock.h) comes here instead of locking when
 * hak_lock_counting is set.  A small table keyed by the mutex's address
 * holds the counts; a lock gets its entry the first time it is taken
 * (a compare-and-swap on an empty key) and keeps the name of that call
 * site.  Off, nothing here runs: hak_lock() tests one flag.  The locks
 * are slow path only, so counting costs no malloc/free fast path anything.
 * The table is printed with the statistics table, before its summary
 * line:
 *
 *   hakmem: lock tiny/heap.c:pool_lock acquired=N contended=M
 *
 * contended: pthread_mutex_trylock() found it held, so this thread waited.
 */
#include "debug/hooks.h"
#include "debug/debug.h"
#include "hak_lock.h"

#include "os/os.h"

#define LOCKS_MAX 16		/* hakmem has 7 (hakmem/fork.c) */

struct lockstat {
	_Atomic(pthread_mutex_t *) m;
	_Atomic(const char *) name;	/* a string literal: always valid */
	_Atomic uint64_t acquired, contended;
};

bool hak_lock_counting;
static struct lockstat locks[LOCKS_MAX];
static _Atomic uint64_t untracked;	/* acquisitions past a full table */

/* Relaxed everywhere: the counts are statistics read when printed, the key
 * is only compared, and the name is a string literal. */
static void count(pthread_mutex_t *m, const char *name, bool busy)
{
	for (unsigned i = 0; i < LOCKS_MAX; i++) {
		struct lockstat *l = &locks[i];
		pthread_mutex_t *cur = atomic_load_explicit(
			&l->m, memory_order_relaxed);

		if (!cur && atomic_compare_exchange_strong_explicit(
				    &l->m, &cur, m, memory_order_relaxed,
				    memory_order_relaxed)) {
			atomic_store_explicit(&l->name, name,
					      memory_order_relaxed);
			cur = m;
		}
		if (cur == m) {
			atomic_fetch_add_explicit(&l->acquired, 1,
						  memory_order_relaxed);
			if (busy)
				atomic_fetch_add_explicit(&l->contended, 1,
							  memory_order_relaxed);
			return;
		}
	}
	atomic_fetch_add_explicit(&untracked, 1, memory_order_relaxed);
}

void hak_lock_counted(pthread_mutex_t *m, const char *name)
{
	bool busy = pthread_mutex_trylock(m) != 0;

	if (busy)
		hak_lock_wait(m);
	count(m, name, busy);
}

/* "hakmem/tiny/heap.c:&pool_lock" -> "tiny/heap.c:pool_lock" */
static void short_name(char *out, size_t n, const char *name)
{
	size_t at = 0;

	if (!name)
		name = "?";
	if (!__builtin_strncmp(name, "hakmem/", 7))
		name += 7;
	for (; *name && at + 1 < n; name++)
		if (*name != '&' && *name != ' ')
			out[at++] = *name;
	out[at] = 0;
}

void hak_dbg_lock_stats_print(void)
{
	char line[192], nm[96];
	uint64_t lost;
	int len;

	if (!hak_lock_counting)
		return;
	for (unsigned i = 0; i < LOCKS_MAX; i++) {
		struct lockstat *l = &locks[i];

		if (!atomic_load_explicit(&l->m, memory_order_relaxed))
			break;
		short_name(nm, sizeof(nm), atomic_load_explicit(
				   &l->name, memory_order_relaxed));
		len = hak_snprintf(line, sizeof(line),
				   "hakmem: lock %s acquired=%lu contended=%lu\n",
				   nm, (unsigned long)atomic_load_explicit(
					   &l->acquired, memory_order_relaxed),
				   (unsigned long)atomic_load_explicit(
					   &l->contended, memory_order_relaxed));
		if (len > 0)
			hak_os_write_err(line, (size_t)len);
	}
	lost = atomic_load_explicit(&untracked, memory_order_relaxed);
	if (lost) {
		len = hak_snprintf(line, sizeof(line), "hakmem: lock (table "
				   "full) acquired=%lu contended=0\n",
				   (unsigned long)lost);
		if (len > 0)
			hak_os_write_err(line, (size_t)len);
	}
}
