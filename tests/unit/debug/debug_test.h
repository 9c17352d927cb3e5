/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/debug/debug_test.h - what the debug box's unit tests share:
 * malloc_stats()'s table, read back from the pipe the test put on stderr,
 * and a re-run of the test itself with another environment.
 */
#ifndef HAK_TESTS_DEBUG_TEST_H
#define HAK_TESTS_DEBUG_TEST_H

#include <malloc.h>
#include <stdbool.h>
#include <sys/wait.h>
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

/*
 * run_self - run this program again (/proc/self/exe) as `ARGV0 @mode`
 * with environment @env, read what it prints on stdout (and stderr too
 * with @with_err) into @out (NUL-terminated, at most @cap - 1 bytes) and
 * return its wait status.
 */
static inline int run_self(char **argv, const char *mode, char *env[],
			   bool with_err, char *out, size_t cap)
{
	int fds[2], status = -1;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	out[0] = 0;
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], (char *)mode, NULL };

		dup2(fds[1], 1);
		if (with_err)
			dup2(fds[1], 2);
		execve("/proc/self/exe", args, env);
		_exit(127);
	}
	close(fds[1]);
	while (len < cap - 1 &&
	       (n = read(fds[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}

/* rerun - run_self() as `ARGV0 --child`, its stdout only */
static inline int rerun(char **argv, char *env[], char *out, size_t cap)
{
	return run_self(argv, "--child", env, false, out, cap);
}

#endif /* HAK_TESTS_DEBUG_TEST_H */
