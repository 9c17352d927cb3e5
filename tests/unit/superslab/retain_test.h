/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/superslab/retain_test.h - what the empty-chunk cache's tests
 * (retain.c, burst.c, tiny/purger_start.c) share: the cache's state in one
 * call, a sleep, and a count of purger threads.
 */
#ifndef HAK_TESTS_SUPERSLAB_RETAIN_TEST_H
#define HAK_TESTS_SUPERSLAB_RETAIN_TEST_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "superslab/superslab.h"

/* whole-chunk slabs: every release empties a chunk */
#define BIG	SS_MAX_SLAB_SHIFT

static inline struct hak_ss_retain now(void)
{
	struct hak_ss_retain r;

	hak_ss_retain_get(&r);
	return r;
}

static inline void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

/* getdents64's record (the kernel's struct linux_dirent64) */
struct purger_dirent {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* purger_threads - threads of this process named "hakmem-purge"; raw
 * system calls, no malloc: a malloc here could take a cached chunk */
static inline int purger_threads(void)
{
	static char buf[16384];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY), n = 0;
	long len;

	while (fd >= 0 &&
	       (len = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < len;) {
			struct purger_dirent *e =
				(struct purger_dirent *)(buf + off);
			char path[64], comm[32] = "";
			int cf;

			off += e->d_reclen;
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%.20s/comm",
				 e->d_name);
			cf = open(path, O_RDONLY);
			if (cf >= 0 && read(cf, comm, sizeof(comm) - 1) > 0 &&
			    !strncmp(comm, "hakmem-purge", 12))
				n++;
			if (cf >= 0)
				close(cf);
		}
	}
	if (fd >= 0)
		close(fd);
	return n;
}

#endif /* HAK_TESTS_SUPERSLAB_RETAIN_TEST_H */
