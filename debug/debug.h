/* SPDX-License-Identifier: MIT */
/*
 * debug/debug.h - the debug box's entry points.  debug/ reads the other
 * boxes through their contract headers; api.c calls these.
 */
#ifndef HAK_DEBUG_H
#define HAK_DEBUG_H

#include "hak_internal.h"

/* debug/stats.c */
/* hak_dbg_stats_print - the statistics table and summary line, on stderr */
void hak_dbg_stats_print(void);

/* debug/trace.c */
/* hak_trace_init - HAKMEM_TRACE_RING: the rings on, the dump signal handlers
 * installed (from our constructor, if start-up is not over yet) */
void hak_trace_init(bool on);

/* debug/profile.c */
/* hak_prof_init - HAKMEM_PROFILE=@file: sample every @bytes on average,
 * write at exit, on SIGUSR2 and on hak_profile_dump(); sets hak_prof_on */
void hak_prof_init(const char *file, long bytes);
/* the profile lock, for hakmem/fork.c (after every other lock) */
void hak_prof_fork_prepare(void);
void hak_prof_fork_parent(void);
void hak_prof_fork_child(void);

#endif /* HAK_DEBUG_H */
