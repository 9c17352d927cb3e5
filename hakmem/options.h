/* SPDX-License-Identifier: MIT */
/*
 * options.h - the HAKMEM_* environment variables, read once at start-up.
 * The table in options.c is the only list; README.md documents each row.
 */
#ifndef HAK_OPTIONS_H
#define HAK_OPTIONS_H

#include "hak_internal.h"

enum hak_opt {
	HAK_OPT_STATS,		/* HAKMEM_STATS: count everything, print at exit */
	HAK_OPT_TRACE_RING,	/* HAKMEM_TRACE_RING: per-thread event rings */
	HAK_OPT_LARGE_CACHE_MS,	/* HAKMEM_LARGE_CACHE_MS: BigCache delay */
	HAK_OPT_RETAIN_MB,	/* HAKMEM_RETAIN_MB: empty chunks kept mapped */
	HAK_OPT_RETAIN_BURST_MB, /* HAKMEM_RETAIN_BURST_MB: ... and briefly */
	HAK_OPT_RETAIN_BURST_MS, /* HAKMEM_RETAIN_BURST_MS: how briefly */
	HAK_OPT_DECAY_MS,	/* HAKMEM_DECAY_MS: longest purge delay */
	HAK_OPT_PROFILE,	/* HAKMEM_PROFILE: heap profile file (string) */
	HAK_OPT_PROFILE_INTERVAL, /* HAKMEM_PROFILE_INTERVAL: mean bytes per sample */
	HAK_OPT_COUNT
};

/* options.c */
void hak_options_init(void);
long hak_opt(enum hak_opt opt);
/* hak_opt_str - a string option's value; NULL when unset or empty */
const char *hak_opt_str(enum hak_opt opt);

#endif /* HAK_OPTIONS_H */
