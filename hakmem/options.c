// SPDX-License-Identifier: MIT
/*
 * options.c - the one table of HAKMEM_* variables.  Parsed once, by
 * hak_init(), without allocating; an unknown HAKMEM_* name gets a one-line
 * warning so that typos are visible.  A string option (one with a
 * str_buf) is copied into its buffer: the environment may change after
 * start-up.
 */
#include "options.h"

#include <string.h>

#include "os/os.h"

struct option {
	const char *name;
	long def;
	long min, max;
};

/* string options: their buffers (STR_MAX bytes); value 1 when set */
#define STR_MAX	4096
static char profile_file[STR_MAX] HAK_LBSS;
static char *const str_buf[HAK_OPT_COUNT] = {
	[HAK_OPT_PROFILE] = profile_file,
};

static const struct option table[HAK_OPT_COUNT] = {
	[HAK_OPT_STATS] = { "HAKMEM_STATS", 0, 0, 1 },
	/* on by default in the failfast flavour: its failures dump the rings */
	[HAK_OPT_TRACE_RING] = { "HAKMEM_TRACE_RING", HAK_FAILFAST, 0, 1 },
	[HAK_OPT_LARGE_CACHE_MS] = { "HAKMEM_LARGE_CACHE_MS", 1000, 0, 3600000 },
	/* four empty 2 MiB chunks: the cache the RSS-bound tests allow for */
	[HAK_OPT_RETAIN_MB] = { "HAKMEM_RETAIN_MB", 8, 0, 1L << 20 },
	/* a burst of transient threads needs 12 MiB more (docs/DESIGN.md) */
	[HAK_OPT_RETAIN_BURST_MB] = { "HAKMEM_RETAIN_BURST_MB", 64, 0, 1L << 20 },
	[HAK_OPT_RETAIN_BURST_MS] = { "HAKMEM_RETAIN_BURST_MS", 50, 0, 60000 },
	[HAK_OPT_DECAY_MS] = { "HAKMEM_DECAY_MS", 1000, 0, 3600000 },
	[HAK_OPT_PROFILE] = { "HAKMEM_PROFILE", 0, 0, 0 },
	/* jemalloc's and tcmalloc's default */
	[HAK_OPT_PROFILE_INTERVAL] = { "HAKMEM_PROFILE_INTERVAL", 524288, 1,
				       1L << 40 },
};

/* written once by hak_init() before it publishes init (release) */
static long values[HAK_OPT_COUNT];

long hak_opt(enum hak_opt opt)
{
	return values[opt];
}

const char *hak_opt_str(enum hak_opt opt)
{
	return str_buf[opt] && values[opt] ? str_buf[opt] : NULL;
}

static bool parse(const char *s, long *out)
{
	long v = 0;
	bool neg = false;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9') {
		if (v > (0x7fffffffffffffffL - 9) / 10)
			return false;
		v = v * 10 + (*s++ - '0');
	}
	if (*s)
		return false;
	*out = neg ? -v : v;
	return true;
}

void hak_options_init(void)
{
	size_t cur = 0;
	const char *e;

	for (unsigned i = 0; i < HAK_OPT_COUNT; i++)
		values[i] = table[i].def;
	while ((e = hak_os_next_env(&cur))) {
		const char *eq;
		unsigned i;
		long v;

		if (strncmp(e, "HAKMEM_", 7) || !(eq = strchr(e, '=')))
			continue;
		for (i = 0; i < HAK_OPT_COUNT; i++)
			if (strlen(table[i].name) == (size_t)(eq - e) &&
			    !strncmp(e, table[i].name, (size_t)(eq - e)))
				break;
		if (i == HAK_OPT_COUNT) {
			hak_warn("hakmem: unknown option %s (ignored)", e);
			continue;
		}
		if (str_buf[i]) {
			size_t len = strlen(eq + 1);

			if (len >= STR_MAX) {
				hak_warn("hakmem: %s: longer than %d bytes "
					 "(ignored)", table[i].name,
					 STR_MAX - 1);
				continue;
			}
			memcpy(str_buf[i], eq + 1, len + 1);
			values[i] = len > 0;
			continue;
		}
		if (!parse(eq + 1, &v) || v < table[i].min || v > table[i].max) {
			hak_warn("hakmem: %s: want an integer in [%ld, %ld]; "
				 "using %ld", e, table[i].min, table[i].max,
				 table[i].def);
			continue;
		}
		values[i] = v;
	}
}
