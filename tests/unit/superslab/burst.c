// SPDX-License-Identifier: MIT
/*
 * unit/superslab/burst.c - the burst past HAKMEM_RETAIN_MB and the purger
 * thread (docs/DESIGN.md "Giving memory back"), on whole-chunk slabs
 * (shift 21: every release empties a chunk), floor 8 MiB (4 chunks),
 * burst 16 MiB (8 chunks) for 50 ms:
 *   - N = 10 chunks emptied at once all stay mapped with their pages, and
 *     come back without a map: a program that refills at once keeps them
 *     (with the fixed bound alone, 6 were unmapped and mapped again);
 *   - past floor + burst they are unmapped at once;
 *   - with no further call from the program, the purger thread
 *     ("hakmem-purge") unmaps the burst within a second, down to the
 *     floor;
 *   - a fork child has no purger; its first burst starts one, which ends
 *     that burst too;
 *   - while the process is single-threaded there is no burst (and so no
 *     purger thread): hakmem never makes such a program multi-threaded.
 * The purger starts from hak_ss_purger_poll() (the tiny box's slow paths
 * call it): called here by hand, as the test drives the box directly.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "superslab/superslab.h"
#include "unit/superslab/retain_test.h"

#define FLOOR	4
#define BURST	8
#define N	10

/* purger_threads - threads of this process named "hakmem-purge"; raw
 * system calls, no malloc: a malloc here could take a cached chunk */
static int purger_threads(void)
{
	static char buf[16384];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY), n = 0;
	long len;

	while (fd >= 0 &&
	       (len = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < len;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
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

/* wait_chunks - up to 2 s for hak_ss_chunks() to come down to @want */
static size_t wait_chunks(size_t want)
{
	for (int ms = 0; ms < 2000 && hak_ss_chunks() > want; ms += 5)
		nap_ms(5);
	return hak_ss_chunks();
}

/* cycle - empty N chunks at once, take N again: no map, no unmap */
static void cycle(size_t c0)
{
	struct hak_slab *s[N];
	struct hak_ss_retain r0 = now(), r;

	for (int i = 0; i < N; i++)
		if (!CHECK((s[i] = hak_ss_acquire(BIG)), "acquire %d", i))
			return;
	for (int i = 0; i < N; i++)
		((volatile char *)hak_ss_slab_start(s[i]))[0] = (char)i;
	for (int i = 0; i < N; i++)
		hak_ss_release(s[i]);
	r = now();
	CHECK(r.dirty == N && r.unmapped == r0.unmapped,
	      "%d chunks emptied at once: %zu kept dirty, %lu unmapped (floor %d + burst %d)",
	      N, r.dirty, (unsigned long)(r.unmapped - r0.unmapped), FLOOR,
	      BURST);
	for (int i = 0; i < N; i++)
		if (!CHECK((s[i] = hak_ss_acquire(BIG)), "re-acquire %d", i))
			return;
	CHECK(hak_ss_chunks() == c0 + N, "chunks %zu after the refill, want %zu",
	      hak_ss_chunks(), c0 + N);
	r = now();
	CHECK(r.hits == r0.hits + N, "hits +%lu, want %d",
	      (unsigned long)(r.hits - r0.hits), N);
	for (int i = 0; i < N; i++)
		hak_ss_release(s[i]);
}

/* cap - past floor + burst, chunks are unmapped at once */
static void cap(size_t c0)
{
	enum { M = FLOOR + BURST + 3 };
	struct hak_slab *s[M];

	hak_ss_trim();
	for (int i = 0; i < M; i++)
		if (!CHECK((s[i] = hak_ss_acquire(BIG)), "acquire %d", i))
			return;
	for (int i = 0; i < M; i++)
		hak_ss_release(s[i]);
	CHECK(hak_ss_chunks() == c0 + FLOOR + BURST,
	      "%d emptied: %zu chunks mapped, want %d (floor + burst)", M,
	      hak_ss_chunks() - c0, FLOOR + BURST);
}

/* single - a single-threaded process keeps no burst and gets no thread */
static void single(size_t c0)
{
	struct hak_slab *s[N];

	for (int i = 0; i < N; i++)
		if (!CHECK((s[i] = hak_ss_acquire(BIG)), "acquire %d", i))
			return;
	for (int i = 0; i < N; i++)
		hak_ss_release(s[i]);
	hak_ss_purger_poll();
	CHECK(hak_ss_chunks() == c0 + FLOOR && purger_threads() == 0,
	      "single-threaded: %zu chunks kept (want the floor, %d), %d purger threads",
	      hak_ss_chunks() - c0, FLOOR, purger_threads());
	hak_ss_trim();
}

static void *nothing(void *arg)
{
	return arg;
}

/* idle - nothing more from the program: the purger ends the burst */
static void idle(size_t c0, const char *who)
{
	size_t left;

	hak_ss_purger_poll();
	left = wait_chunks(c0 + FLOOR);
	CHECK(left == c0 + FLOOR,
	      "%s: 2 s idle after a burst, %zu chunks mapped, want the floor %d",
	      who, left - c0, FLOOR);
	CHECK(purger_threads() == 1, "%s: %d purger threads, want 1", who,
	      purger_threads());
}

int main(void)
{
	void *volatile first = malloc(1);
	size_t c0;
	pthread_t t;
	pid_t pid;
	int status = -1;

	free(first);
	hak_ss_config(FLOOR * SS_SIZE, BURST * SS_SIZE, 50, 1000);
	hak_ss_trim();
	c0 = hak_ss_chunks();
	single(c0);
	/* one thread, come and gone: the process is multi-threaded for good */
	if (!CHECK(pthread_create(&t, NULL, nothing, NULL) == 0, "thread"))
		return t_result();
	pthread_join(t, NULL);
	cycle(c0);
	idle(c0, "parent");
	CHECK(hak_ss_trim() == FLOOR * SS_SIZE, "trim: the floor was not cached");
	cap(c0);
	idle(c0, "parent, after the cap");

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		CHECK(purger_threads() == 0, "child: %d purger threads",
		      purger_threads());
		hak_ss_trim();
		cycle(c0);
		idle(c0, "fork child");
		_exit(t_result());
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	      WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the fork child failed (status %d)", status);
	printf("burst: none while single-threaded; then %d chunks emptied at "
	       "once kept and reused; past %d unmapped at once; the purger "
	       "gave the burst back when idle, in a fork child too\n", N,
	       FLOOR + BURST);
	return t_result();
}
