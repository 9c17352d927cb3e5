// SPDX-License-Identifier: MIT
/*
 * hakmem_probe.c - a preloadable proof of which allocator served a program
 * we cannot change (redis-server in bench/redis_bench.py).
 *
 *   LD_PRELOAD="libhakmem.so hakmem_probe.so" program ...
 *
 * When the program exits (a destructor: exit() or a return from main), the
 * probe mallocs a block through the process's global malloc, the same
 * symbol the program's own calls resolve to, and asks hakmem's hak_owns()
 * (looked up with dlsym, so the probe also loads without hakmem) whether
 * the block is hakmem's.  It writes one line on stderr:
 *
 *   hakmem-probe: owns=0|1 mapped_peak_kb=K
 *
 * mapped_peak_kb is hak_stats_get()'s high-water mark of memory hakmem had
 * mapped (0 without hakmem), so the caller can check that hakmem held at
 * least as much as the program had live.  The line goes out with one
 * write(2), not through a stdio stream: it is a destructor.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"

__attribute__((destructor)) static void probe_report(void)
{
	int (*owns)(const void *);
	void (*stats)(struct hak_stats *);
	struct hak_stats st;
	char line[128];
	void *p;
	int r = 0, n;

	memset(&st, 0, sizeof(st));
	*(void **)&owns = dlsym(RTLD_DEFAULT, "hak_owns");
	*(void **)&stats = dlsym(RTLD_DEFAULT, "hak_stats_get");
	p = malloc(64);
	if (owns && p)
		r = owns(p) != 0;
	free(p);
	if (r && stats)
		stats(&st);
	n = snprintf(line, sizeof(line), "hakmem-probe: owns=%d "
		     "mapped_peak_kb=%zu\n", r, st.mapped_peak >> 10);
	if (n > 0 && write(2, line, (size_t)n) < 0)
		_exit(1);
}
