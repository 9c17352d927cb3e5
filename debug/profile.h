/* SPDX-License-Identifier: MIT */
/*
 * debug/profile.h - the heap profiler's two files: profile.c (sampling,
 * the tables, the hooks) and profile_write.c (the output formats).
 * Private to debug/.
 */
#ifndef HAK_DEBUG_PROFILE_H
#define HAK_DEBUG_PROFILE_H

#include "hak_internal.h"

#define MAX_DEPTH	64

struct stack {
	uint64_t hash;
	uint32_t next;			/* bucket chain; index + 1 */
	uint32_t depth;
	uint64_t live_n, live_b;	/* sampled blocks still live, their bytes */
	uint64_t total_n, total_b;	/* every sampled block */
	uint64_t live_est;		/* estimated live bytes (unsampled) */
	uintptr_t pc[MAX_DEPTH];	/* leaf first: return addresses */
};

/*
 * hak_prof_write - write the @n stacks to @path ("%p": the pid) in the
 * gperftools heap profile format and to @path.collapsed; 0, or -1 if a
 * file could not be written.  Async-signal-safe with @in_signal (no
 * dladdr()); the caller holds the profile lock.
 */
int hak_prof_write(const char *path, const struct stack *stacks, uint32_t n,
		   uint64_t interval, bool in_signal);

#endif /* HAK_DEBUG_PROFILE_H */
