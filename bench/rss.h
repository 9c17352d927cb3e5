/* SPDX-License-Identifier: MIT */
/*
 * rss.h - the process's peak resident set, for the benchmarks' result
 * lines.
 *
 * VmHWM from /proc/self/status, not getrusage()'s ru_maxrss: ru_maxrss
 * survives execve, so a program started by a big parent through vfork
 * (Python's subprocess does) would report the parent's RSS as its own.
 * VmHWM belongs to the program's own address space.  Read with open/read
 * into a stack buffer: no malloc in the measurement.
 */
#ifndef HAKMEM_BENCH_RSS_H
#define HAKMEM_BENCH_RSS_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Peak RSS in KiB; ru_maxrss if /proc is not there. */
static inline long bench_rss_peak_kb(void)
{
	char buf[4096], *p;
	struct rusage ru;
	ssize_t n = 0, r;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		while (n < (ssize_t)sizeof(buf) - 1 &&
		       (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += r;
		close(fd);
		buf[n] = '\0';
		p = strstr(buf, "\nVmHWM:");
		if (p)
			return strtol(p + 7, NULL, 10);
	}
	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_maxrss;
}

#endif /* HAKMEM_BENCH_RSS_H */
