// SPDX-License-Identifier: MIT
/*
 * tests/stress/fork_signal.c - fork() from a signal handler in a
 * single-threaded program, while the interrupted code is inside malloc,
 * free or fork() itself (docs: hakmem/remote/README.md, "Fork").
 *
 * Usage: fork_signal.t [--smoke] [handler-forks]
 *   defaults: 1000 forks from the handler (200 under sanitizers/valgrind),
 *   --smoke 200.  Skipped (77) in the valgrind flavour: under memcheck
 *   the worker makes no progress even with glibc's malloc (valgrind
 *   3.19 delivers the timer's signals around its own fork handling so
 *   that neither loop advances).
 *
 * The test runs in a child (the worker, single-threaded, as glibc sees
 * it); the parent only watches the clock.  The worker arms an interval
 * timer (SIGALRM every TICK_US) whose handler forks; that child _exit(0)s
 * at once and the handler reaps it.  The worker's main loop mallocs and
 * frees blocks of every size range (tiny, mid, large: the paths that take
 * the heap pool's, the superslab's and the large cache's locks) and forks
 * every FORK_EVERY iterations itself, so that signals land inside malloc
 * and inside fork's prepare handler holding the allocator's locks.  glibc
 * keeps this working for its own malloc by locking nothing at fork in a
 * single-threaded process; an allocator whose prepare handler waits for
 * its locks hangs here.
 *
 * Asserted: the worker finishes within DEADLINE_S seconds (else it is
 * killed: FAIL "hang"), every child of the handler and of the main loop
 * exits 0, and every block keeps its pattern.
 */
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define TICK_US		1000
#define FORK_EVERY	16
#define NSLOTS		64
#define DEADLINE_S	(S_SLOW ? 240.0 : 60.0)

static volatile sig_atomic_t handler_forks, handler_bad;

static void on_tick(int sig)
{
	int saved = errno, st;
	pid_t pid;

	(void)sig;
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		handler_bad = handler_bad + 1;
	handler_forks = handler_forks + 1;
	errno = saved;
}

static size_t pick(struct t_rng *r)
{
	switch (t_rand(r) % 8) {
	case 0:
		return (size_t)t_rand_range(r, 256 * S_KiB, 1 * S_MiB);
	case 1:
	case 2:
		return (size_t)t_rand_range(r, 2 * S_KiB, 128 * S_KiB);
	default:
		return (size_t)t_rand_range(r, 1, 1024);
	}
}

static int worker(long want)
{
	struct itimerval it = { { 0, TICK_US }, { 0, TICK_US } };
	struct sigaction sa;
	void *slot[NSLOTS] = { 0 };
	size_t size[NSLOTS] = { 0 };
	struct t_rng r;
	unsigned long iter = 0, main_forks = 0, damaged = 0, main_bad = 0;

	t_rng_seed(&r, 42);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
		return 4;
	while (handler_forks < want) {
		unsigned i = (unsigned)(t_rand(&r) % NSLOTS);

		if (slot[i]) {
			unsigned char *p = slot[i];

			if (p[0] != (unsigned char)i ||
			    p[size[i] - 1] != (unsigned char)i)
				damaged++;
			free(slot[i]);
		}
		size[i] = pick(&r);
		slot[i] = malloc(size[i]);
		if (!slot[i])
			return 3;
		((unsigned char *)slot[i])[0] = (unsigned char)i;
		((unsigned char *)slot[i])[size[i] - 1] = (unsigned char)i;
		if (++iter % FORK_EVERY == 0) {
			int st;
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			if (pid < 0)
				continue;	/* EAGAIN under load: retry later */
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				main_bad++;
			main_forks++;
		}
	}
	setitimer(ITIMER_REAL, &(struct itimerval){ { 0, 0 }, { 0, 0 } }, NULL);
	for (unsigned i = 0; i < NSLOTS; i++)
		free(slot[i]);
	printf("fork_signal: %ld forks in the handler, %lu in the main loop, "
	       "%lu iterations\n", (long)handler_forks, main_forks, iter);
	fflush(stdout);
	if (damaged || main_bad || handler_bad) {
		fprintf(stderr, "fork_signal: %lu damaged blocks, %lu + %ld "
			"failed children\n", damaged, main_bad,
			(long)handler_bad);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *arg = t_arg(argc, argv, 0);
	long want = arg ? atol(arg) : smoke || S_SLOW ? 200 : 1000;
	double start = t_now();
	pid_t pid;
	int st = 0;

	if (S_VALGRIND) {
		printf("SKIP fork_signal: under valgrind the worker makes no "
		       "progress, with glibc's malloc too\n");
		return T_SKIP;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		t_die("fork_signal: fork: %s", strerror(errno));
	if (pid == 0)
		_exit(worker(want));
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0)
			t_die("fork_signal: waitpid: %s", strerror(errno));
		if (t_now() - start > DEADLINE_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			t_die("FAIL: fork_signal: hang: the worker did not finish "
			      "%ld handler forks in %.0f s", want, DEADLINE_S);
		}
		usleep(20000);
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "fork_signal: worker status 0x%x (2 damaged block or failed "
	      "child, 3 malloc failed, 4 timer)", st);
	return t_result();
}
