// SPDX-License-Identifier: MIT
/*
 * tests/stress/fork_stdio.c - fork() while another thread walks stdio's
 * list of FILEs and a third holds one FILE's lock and calls malloc inside
 * it (docs: hakmem/remote/README.md, "Fork").
 *
 * Usage: fork_stdio.t [--smoke] [forks]
 *   defaults: 300 forks (100 under sanitizers, 30 under valgrind), --smoke
 *   100 (30 under valgrind).
 *
 * The shape that deadlocked allocators whose pthread_atfork prepare handler
 * takes their locks (hakmem before this test, jemalloc 5.3, tcmalloc 2.10):
 *   A (main) calls fork(): prepare handlers, then glibc takes the stdio
 *     list lock (_IO_list_lock);
 *   B loops on fflush(NULL): takes the list lock, then every FILE's lock;
 *   C loops holding FILE f's lock (flockfile) around mallocs that take
 *     the allocator's global locks (a 256 KiB block: the large box's lock;
 *     a new thread's first blocks: the heap pool's).
 * A holding the allocator's locks waits for the list lock, B holding the
 * list lock waits for f, C holding f waits for the allocator's lock.
 *
 * Asserted: every fork returns within the alarm (ALARM_S seconds for the
 * whole run: SIGALRM prints "FAIL: fork_stdio: hang" and exits 1), every
 * child exits 0 at once (it mallocs, frees and _exit(0)s), and the blocks
 * C allocated under the lock keep their pattern.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define BIG		(256 * S_KiB)
#define ALARM_S		(S_SLOW ? 300 : 60)

static FILE *f;
static atomic_bool stop;
static atomic_ulong c_rounds, b_rounds;

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: fork_stdio: hang (fork, fflush(NULL) "
				  "and malloc under a FILE lock)\n";

	(void)sig;
	/* async-signal-safe: write and _exit only */
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void *tiny_thread(void *arg)
{
	void *p = malloc(64);

	(void)arg;
	free(p);
	return NULL;
}

/* C: malloc under FILE f's lock */
static void *locker(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		char *p;

		flockfile(f);
		p = malloc(BIG);
		if (!p)
			t_die("fork_stdio: malloc(%zu) failed", (size_t)BIG);
		memset(p, 0x5a, BIG);
		fputc('x', f);
		if (p[0] != 0x5a || p[BIG - 1] != 0x5a)
			t_die("fork_stdio: block damaged under the lock");
		free(p);
		if (++n % 16 == 0) {
			pthread_t t;

			/* a new heap: the pool's lock, under f's lock */
			if (pthread_create(&t, NULL, tiny_thread, NULL) == 0)
				pthread_join(t, NULL);
		}
		funlockfile(f);
		atomic_fetch_add_explicit(&c_rounds, 1, memory_order_relaxed);
	}
	return NULL;
}

/* B: walk the list of FILEs, taking each FILE's lock */
static void *flusher(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		fflush(NULL);
		atomic_fetch_add_explicit(&b_rounds, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *arg = t_arg(argc, argv, 0);
	long forks = arg ? atol(arg) : S_VALGRIND ? 30 :
		     smoke || S_SLOW ? 100 : 300;
	pthread_t b, c;
	long bad = 0;

	signal(SIGALRM, on_alarm);
	alarm(ALARM_S);
	f = fopen("/dev/null", "w");
	if (!f)
		t_die("fork_stdio: fopen /dev/null");
	/* full buffering: fputc leaves bytes for fflush(NULL) to write */
	setvbuf(f, NULL, _IOFBF, 4096);
	if (pthread_create(&c, NULL, locker, NULL) ||
	    pthread_create(&b, NULL, flusher, NULL))
		t_die("fork_stdio: pthread_create");

	for (long i = 0; i < forks; i++) {
		int st = 0;
		pid_t pid = fork();

		if (pid < 0)
			t_die("fork_stdio: fork: %s", strerror(errno));
		if (pid == 0) {
			void *p = malloc(100);
			void *q = malloc(BIG);

			free(q);
			free(p);
			_exit(p && q ? 0 : 3);
		}
		if (waitpid(pid, &st, 0) != pid)
			t_die("fork_stdio: waitpid: %s", strerror(errno));
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
			fprintf(stderr, "fork_stdio: child %ld: status 0x%x\n", i,
				st);
		}
	}
	atomic_store(&stop, true);
	pthread_join(b, NULL);
	pthread_join(c, NULL);
	fclose(f);
	alarm(0);
	CHECK(bad == 0, "fork_stdio: %ld of %ld children failed", bad, forks);
	printf("fork_stdio: %ld forks, locker %lu rounds, flusher %lu rounds\n",
	       forks, atomic_load(&c_rounds), atomic_load(&b_rounds));
	return t_result();
}
