// SPDX-License-Identifier: MIT
/*
 * unit/debug/trace_ring.c - HAKMEM_TRACE_RING=1: SIGUSR2 sent to a busy
 * multi-threaded process dumps a ring per thread, each naming that
 * thread's recent events (alloc, free, remote-push...).
 *
 * The test re-executes itself with the option set (options are read once
 * at start-up), lets four threads hammer malloc/free (with cross-thread
 * frees), signals the child and reads its stderr.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hakmem.h"
#include "helpers.h"

#ifndef HAK_ASAN
#define HAK_ASAN 0
#endif
#ifndef HAK_VALGRIND
#define HAK_VALGRIND 0
#endif

#define NTHREADS 4

static _Atomic int stop, ready;
static _Atomic(void *) handoff[NTHREADS];
static long tids[NTHREADS];

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct t_rng r;

	t_rng_seed(&r, (uint64_t)id);
	tids[id] = syscall(SYS_gettid);
	atomic_fetch_add(&ready, 1);
	while (!atomic_load(&stop)) {
		void *p = malloc(t_rand_range(&r, 1, 2000));
		/* our slot is filled by the previous thread: a remote free */
		void *in = atomic_exchange(&handoff[id], NULL);
		/* a block the next thread has not taken yet comes back: local */
		void *back = atomic_exchange(&handoff[(id + 1) % NTHREADS], p);

		free(in);
		free(back);
	}
	return NULL;
}

static int child(void)
{
	pthread_t t[NTHREADS];

	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	while (atomic_load(&ready) < NTHREADS)
		usleep(1000);
	for (int i = 0; i < NTHREADS; i++)
		printf("tid %ld\n", tids[i]);
	fflush(stdout);
	usleep(200 * 1000);		/* the parent signals meanwhile */
	sleep(2);
	atomic_store(&stop, 1);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}

int main(int argc, char **argv)
{
	int out[2], err[2], status;
	static char buf[1 << 20];
	char tidbuf[256];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

#if defined(HAK_TEST_API_ONLY) || HAK_ASAN || HAK_VALGRIND
	return T_SKIP;	/* tsan/asan/valgrind own signals and timing */
#endif
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child();
	if (pipe(out) || pipe(err))
		t_die("pipe");
	pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], "--child", NULL };
		char *env[] = { "HAKMEM_TRACE_RING=1", NULL };

		dup2(out[1], 1);
		dup2(err[1], 2);
		execve("/proc/self/exe", args, env);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	/* wait until the child printed its threads' ids: all are busy */
	n = read(out[0], tidbuf, sizeof(tidbuf) - 1);
	usleep(100 * 1000);
	kill(pid, SIGUSR2);
	while (len < sizeof(buf) - 1 &&
	       (n = read(err[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child status %d", status);
	CHECK(strstr(buf, "hakmem: trace ring dump"), "no dump in: %.300s", buf);

	/* every worker's ring is in the dump, with recent allocs and frees */
	char *line = tidbuf;
	int seen = 0;
	for (int i = 0; i < NTHREADS; i++) {
		long tid;
		char want[64], *at, *end;

		if (sscanf(line, "tid %ld", &tid) != 1)
			break;
		line = strchr(line, '\n');
		line = line ? line + 1 : tidbuf + strlen(tidbuf);
		snprintf(want, sizeof(want), "hakmem: thread %ld:", tid);
		at = strstr(buf, want);
		if (!CHECK(at, "no ring for thread %ld", tid))
			continue;
		end = strstr(at + 1, "hakmem: thread ");
		if (end)
			*end = 0;
		CHECK(strstr(at, " alloc ") && strstr(at, " free "),
		      "thread %ld: no alloc/free events", tid);
		if (end)
			*end = 'h';
		seen++;
	}
	CHECK(seen == NTHREADS, "%d of %d threads' rings found", seen,
	      NTHREADS);
	printf("trace_ring: %d threads dumped, %zu bytes\n", seen, len);
	return t_result();
}
