/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/debug/debug_test.h - what the debug box's unit tests share:
 * malloc_stats()'s table, read back from the pipe the test put on stderr.
 */
#ifndef HAK_TESTS_DEBUG_TEST_H
#define HAK_TESTS_DEBUG_TEST_H

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * stats_table - call malloc_stats() with stderr (fd 2) on a pipe whose
 * read end is @fd, and return its text up to the summary line that ends
 * the table (a static buffer, overwritten by the next call).
 */
static inline const char *stats_table(int fd)
{
	static char buf[65536];
	size_t len = 0;
	ssize_t n;

	buf[0] = 0;
	fflush(stderr);
	malloc_stats();
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = 0;
		if (strstr(buf, "hakmem: mapped="))
			break;
	}
	return buf;
}

#endif /* HAK_TESTS_DEBUG_TEST_H */
