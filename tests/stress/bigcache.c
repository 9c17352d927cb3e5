// SPDX-License-Identifier: MIT
/*
 * tests/stress/bigcache.c - the large-block cache gives memory back after
 * its delay (HAKMEM_LARGE_CACHE_MS, default 1000 ms), and at once with 0.
 *
 * Usage: bigcache.t [--smoke]
 *
 * Default delay (this process):
 *   - a 16 MiB block, every page written, is freed: it stays mapped in the
 *     cache (mapped >= start + 16 MiB, large_cached == 1), but the cache
 *     is cold (no hits yet), so its pages go back first (release and
 *     debug: RSS drops by >= 12 MiB); a malloc of the same size right after
 *     reuses it (same address, no new mapping);
 *   - freed again, then 1.3 s pass, then a 256 KiB malloc/free: the
 *     16 MiB mapping is older than the delay and is unmapped (mapped <=
 *     start + 2 MiB, large_cached == 1: the 256 KiB block).
 * HAKMEM_LARGE_CACHE_MS=0 (the test runs itself again with it): a freed
 * 16 MiB block is unmapped at once (mapped back to start, large_cached 0).
 */
#include <sys/wait.h>

#include "stress.h"

#define BIG	(16 * S_MiB)
#define SMALL	(256 * S_KiB)

static void *touched(size_t size)
{
	char *p = malloc(size);

	if (!p)
		t_die("bigcache: malloc(%zu) failed", size);
	for (size_t off = 0; off < size; off += 4096)
		p[off] = 1;
	return p;
}

static int no_delay(void)
{
	struct hak_stats st0, st;

	s_warm();
	st0 = s_stats();
	free(touched(BIG));
	st = s_stats();
	CHECK(st.large_cached == 0 && st.mapped <= st0.mapped,
	      "HAKMEM_LARGE_CACHE_MS=0: after free, large_cached %zu, mapped %.1f MiB (start %.1f)",
	      st.large_cached, s_mib(st.mapped), s_mib(st0.mapped));
	printf("bigcache: HAKMEM_LARGE_CACHE_MS=0: freed 16 MiB unmapped at once (mapped %.1f MiB, start %.1f)\n",
	       s_mib(st.mapped), s_mib(st0.mapped));
	return t_result();
}

int main(int argc, char **argv)
{
	struct hak_stats st0, st1, st2;
	const char *env = getenv("HAKMEM_LARGE_CACHE_MS");
	struct timespec nap = { 1, 300000000 };
	uintptr_t p;
	void *q;
	pid_t pid;
	int status;

	(void)argc;
	if (env && !strcmp(env, "0"))
		return no_delay();
	if (env)
		t_die("bigcache: run without HAKMEM_LARGE_CACHE_MS (it sets it itself)");

	s_warm();
	st0 = s_stats();
	long rss_live, rss_freed;

	q = touched(BIG);
	p = (uintptr_t)q;	/* compared after the free: keep the number */
	rss_live = t_rss_kb();
	free(q);
	rss_freed = t_rss_kb();
	st1 = s_stats();
	if (S_RSS_STRICT)
		CHECK(rss_live - rss_freed >= 12 * 1024,
		      "a 16 MiB block cached while the cache is cold kept its pages: RSS %ld kB live, %ld kB freed",
		      rss_live, rss_freed);
	CHECK(st1.large_cached == 1 && st1.mapped >= st0.mapped + BIG,
	      "a freed 16 MiB block is not cached: large_cached %zu, mapped %.1f MiB (start %.1f)",
	      st1.large_cached, s_mib(st1.mapped), s_mib(st0.mapped));
	q = touched(BIG);
	CHECK((uintptr_t)q == p, "the cached mapping was not reused (%#lx, then %p)",
	      (unsigned long)p, q);
	free(q);
	nanosleep(&nap, NULL);
	free(touched(SMALL));
	st2 = s_stats();
	CHECK(st2.large_cached == 1 && st2.mapped <= st0.mapped + 2 * S_MiB,
	      "1.3 s after the free the 16 MiB mapping is still there: large_cached %zu, mapped %.1f MiB (start %.1f)",
	      st2.large_cached, s_mib(st2.mapped), s_mib(st0.mapped));
	printf("bigcache: 16 MiB cached (mapped %.1f MiB) and reused, unmapped after the delay (mapped %.1f MiB, start %.1f)\n",
	       s_mib(st1.mapped), s_mib(st2.mapped), s_mib(st0.mapped));

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_die("bigcache: fork failed");
	if (pid == 0) {
		setenv("HAKMEM_LARGE_CACHE_MS", "0", 1);
		/* argv[0], not /proc/self/exe: under valgrind that names
		 * valgrind's tool (the child then runs natively) */
		execv(strchr(argv[0], '/') ? argv[0] : "/proc/self/exe", argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		t_die("bigcache: waitpid failed");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the HAKMEM_LARGE_CACHE_MS=0 run failed (status %#x)", status);
	return t_result();
}
