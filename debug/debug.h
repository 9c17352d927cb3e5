/* SPDX-License-Identifier: MIT */
/*
 * debug/debug.h - the debug box's entry points.  debug/ reads the other
 * boxes through their contract headers and calls down only; api.c and
 * api.h call these.
 */
#ifndef HAK_DEBUG_H
#define HAK_DEBUG_H

#include <signal.h>

#include "hak_internal.h"

/* debug/stats.c */
/* hak_dbg_stats_print - the statistics table and summary line, on stderr */
void hak_dbg_stats_print(void);

/* debug/lockstat.c */
/* hak_dbg_lock_stats_print - a line per global lock: acquisitions and how
 * many found it busy (HAKMEM_STATS=1; nothing otherwise), on stderr */
void hak_dbg_lock_stats_print(void);

/* debug/trace.c */
/* hak_trace_init - HAKMEM_TRACE_RING: the rings on, the dump signal handlers
 * installed (from our constructor, if start-up is not over yet) */
void hak_trace_init(bool on);
/* hak_dbg_sig_chain - call @old, the handler a debug box's handler
 * replaced for @sig (SIGUSR2: the trace ring's and the profiler's dumps
 * chain to each other and to the program's), unless it is SIG_DFL/IGN */
void hak_dbg_sig_chain(const struct sigaction *old, int sig, siginfo_t *si,
		       void *uc);

/* debug/track.c - the tracked flavours' allocator (HAK_TRACK): api.c
 * and api.h call these instead of their own paths; they set errno */
void *hak_dbg_track_malloc(size_t size);
void hak_dbg_track_free(void *p);
void *hak_dbg_track_calloc(size_t total);
void *hak_dbg_track_realloc(void *p, size_t size);
void *hak_dbg_track_aligned(size_t align, size_t size);
size_t hak_dbg_track_usable(const void *p);
/* debug/profile.c */
/* hak_prof_init - HAKMEM_PROFILE=@file: sample every @bytes on average,
 * write at exit, on SIGUSR2 and on hak_profile_dump(); sets hak_prof_on */
void hak_prof_init(const char *file, long bytes);
/* the profile lock, for hakmem/fork.c (after every other lock) */
void hak_prof_fork_prepare(void);
void hak_prof_fork_parent(void);
void hak_prof_fork_child(void);

#endif /* HAK_DEBUG_H */
