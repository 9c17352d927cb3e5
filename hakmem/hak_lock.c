// SPDX-License-Identifier: MIT
/*
 * hak_lock.c - what a thread does when a global lock is busy (hak_lock.h):
 * it retries a while, a pause apart, before it sleeps in the kernel.
 */
#include "hak_lock.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

__attribute__((cold)) void hak_lock_wait(pthread_mutex_t *m)
{
	for (unsigned i = 0; i < HAK_LOCK_SPINS; i++) {
		cpu_relax();
		if (!pthread_mutex_trylock(m))
			return;
	}
	pthread_mutex_lock(m);
}
