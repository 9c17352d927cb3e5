// SPDX-License-Identifier: MIT
/*
 * unit/superslab/burst.c - the burst past HAKMEM_RETAIN_MB and the purger
 * thread (docs/DESIGN.md "Giving memory back"), on whole-chunk slabs
 * (shift 21: every release empties a chunk), floor 8 MiB (4 chunks),
 * burst 16 MiB (8 chunks) for 50 ms:
 *   - no burst is kept until the purger runs: the first N chunks emptied
 *     at once go back to the floor and mark it wanted, with no thread yet
 *     (a malloc starts it: tiny/purger_start.c);
 *   - then N = 10 chunks emptied at once all stay mapped with their pages, and
 *     come back without a map: a program that refills at once keeps them
 *     (with the fixed bound alone, 6 were unmapped and mapped again);
 *   - past floor + burst they are unmapped at once;
 *   - with no further call from the program, the purger thread
 *     ("hakmem-purge") unmaps the burst within a second, down to the
 *     floor;
 *   - a fork child has no purger and keeps no burst until one starts;
 *     then the same;
 *   - while the process is single-threaded there is no burst (and so no
 *     purger thread): hakmem never makes such a program multi-threaded.
 * The purger starts from hak_ss_purger_poll() (the tiny box's malloc slow
 * path calls it): called here by hand, as the test drives the box directly.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "superslab/superslab.h"
#include "unit/superslab/retain_test.h"

#define FLOOR	4
#define BURST	8
#define N	10

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

/* empty_at_once - take N whole chunks, then empty them all at once */
static bool empty_at_once(void)
{
	struct hak_slab *s[N];

	for (int i = 0; i < N; i++)
		if (!CHECK((s[i] = hak_ss_acquire(BIG)), "acquire %d", i))
			return false;
	for (int i = 0; i < N; i++)
		hak_ss_release(s[i]);
	return true;
}

/* before_purger - the purger not running: N emptied at once go back to
 * the floor and mark it wanted; the poll starts it */
static void before_purger(size_t c0, const char *who)
{
	if (!empty_at_once())
		return;
	CHECK(hak_ss_chunks() == c0 + FLOOR && purger_threads() == 0 &&
	      hak_load_relaxed(&hak_ss_purger_pending),
	      "%s, no purger yet: %zu chunks kept (want the floor, %d), %d "
	      "purger threads (want 0), wanted %d (want 1)", who,
	      hak_ss_chunks() - c0, FLOOR, purger_threads(),
	      (int)hak_load_relaxed(&hak_ss_purger_pending));
	hak_ss_purger_poll();
	CHECK(purger_threads() == 1 && hak_ss_purger_running(),
	      "%s: the poll started %d purger threads, want 1", who,
	      purger_threads());
	hak_ss_trim();
}

/* single - a single-threaded process keeps no burst and gets no thread */
static void single(size_t c0)
{
	if (!empty_at_once())
		return;
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
	before_purger(c0, "parent");
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
		before_purger(c0, "fork child");
		cycle(c0);
		idle(c0, "fork child");
		_exit(t_result());
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	      WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the fork child failed (status %d)", status);
	printf("burst: none while single-threaded, nor before the purger "
	       "runs; then %d chunks emptied at once kept and reused; past %d "
	       "unmapped at once; the purger gave the burst back when idle, in "
	       "a fork child too\n", N, FLOOR + BURST);
	return t_result();
}
