// SPDX-License-Identifier: MIT
/*
 * fork.c - fork() safety: the pthread_atfork handlers, which locks they
 * take in which order, and when they take none.  The reasoning (which
 * thread may hold what when fork runs) is in hakmem/remote/README.md,
 * "Fork".
 *
 * Order, prepare: glibc's stdio list lock, then init -> tiny (pool,
 * global) -> mailbox -> large -> superslab -> the heap profiler's (a leaf:
 * its holder waits for nothing).  Taking the stdio list lock
 * first is what glibc's own malloc gets by taking its locks inside fork()
 * after the list lock: a thread that holds a FILE's lock may be waiting for
 * one of our locks, and a thread that holds the list lock may be waiting
 * for that FILE; so we may wait for the list lock only while we hold none
 * of ours.  glibc's fork() then takes the list lock again (it is
 * recursive) and drops it before the parent handlers run; the child's
 * copy is reset by glibc, and again by us.
 *
 * No lock is taken when no other thread can hold one: the process is
 * single-threaded (glibc's __libc_single_threaded, the test glibc's fork
 * uses to skip its own malloc locking), or this thread is itself inside
 * one of our locks or in an enclosing fork's handlers (hak_lock_depth: a
 * fork() from a signal handler that interrupted malloc or fork).  The
 * interrupted code then finishes and unlocks in parent and child alike.
 */
#include "api.h"

#include <stdint.h>

#include "debug/debug.h"
#include "hak_lock.h"
#include "remote/remote.h"

__thread unsigned hak_lock_depth HAK_TLS_IE;

/* glibc exports these (GLIBC_2.2.5, GLIBC_2.32); weak: another libc or a
 * static link without stdio leaves them NULL and we skip them */
extern void _IO_list_lock(void) __attribute__((weak));
extern void _IO_list_unlock(void) __attribute__((weak));
extern void _IO_list_resetlock(void) __attribute__((weak));
extern char __libc_single_threaded __attribute__((weak));

/* nesting of forks on this thread (from signal handlers) */
static __thread unsigned fork_level HAK_TLS_IE;
/* bit n: the fork at nesting level n took the locks */
static __thread uint32_t fork_locked HAK_TLS_IE;

static bool single_threaded(void)
{
	return &__libc_single_threaded && __libc_single_threaded;
}

void hak_fork_prepare(void)
{
	unsigned level = fork_level++;

	if (single_threaded() || hak_lock_depth > 0 || level >= 32)
		return;
	fork_locked |= 1u << level;
	hak_lock_depth++;
	if (_IO_list_lock)
		_IO_list_lock();
	hak_api_fork_prepare();
	hak_tiny_fork_prepare();
	hak_mbox_fork_prepare();
	hak_large_fork_prepare();
	hak_ss_fork_prepare();
	hak_prof_fork_prepare();
}

/* done - the handler after fork at this level: did its prepare lock? */
static bool done(void)
{
	uint32_t bit = 1u << (--fork_level & 31);

	if (!(fork_locked & bit))
		return false;
	fork_locked &= ~bit;
	return true;
}

void hak_fork_parent(void)
{
	if (!done())
		return;
	hak_prof_fork_parent();
	hak_ss_fork_parent();
	hak_large_fork_parent();
	hak_mbox_fork_parent();
	hak_tiny_fork_parent();
	hak_api_fork_parent();
	if (_IO_list_unlock)
		_IO_list_unlock();
	hak_lock_depth--;
}

void hak_fork_child(void)
{
	if (!done())
		return;
	hak_prof_fork_child();
	hak_ss_fork_child();
	hak_large_fork_child();
	hak_mbox_fork_child();
	hak_tiny_fork_child();
	hak_api_fork_child();
	if (_IO_list_resetlock)
		_IO_list_resetlock();
	hak_lock_depth--;
}
