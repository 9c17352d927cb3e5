// SPDX-License-Identifier: MIT
/*
 * tests/stress/fork_load.c - fork() while other threads hammer malloc/free.
 *
 * Usage: fork_load.t [--smoke] [forks]
 *   defaults: 200 forks (60 under sanitizers/valgrind), --smoke 30.
 *
 * HAMMERS threads replace random blocks of their own slot arrays (sizes
 * 16 B..256 KiB, so tiny, mid and large paths all run), hand 30% of them to
 * the next hammer's inbox to be freed there (remote frees), and drain their
 * own inbox; hammer 0 also calls malloc_trim(0) every TRIM_EVERY
 * iterations (all of the allocator's global locks, in turn).  Each hammer
 * also allocates FROZEN blocks at start that it
 * leaves alone until the end: stable blocks in slabs owned by a busy heap.
 * Hammers run at nice HAMMER_NICE so that on a small machine the forking
 * thread and its children are not starved; they still use every core the
 * main thread and the child leave idle.
 *
 * The main thread, FORKS times: allocates MAIN_BLOCKS blocks of mixed sizes
 * (up to 1 MiB), forks, and in the parent waits for the child with a
 * deadline of CHILD_TIMEOUT seconds (waitpid(WNOHANG) polling; a child still
 * running then is killed and counts as a deadlock), then checks its blocks
 * and frees half of them and hands the other half to the hammers.  The
 * child, a copy of a process whose allocator locks may have been held by
 * any of the hammers at the fork:
 *   1. allocates CHILD_BLOCKS blocks (16 B..512 KiB) and stamps them;
 *   2. checks and frees the parent's MAIN_BLOCKS (allocated before the fork
 *      by the forking thread) and every hammer's FROZEN blocks (remote frees
 *      into slabs of heaps whose threads do not exist in the child);
 *   3. checks and frees its own blocks, then CHILD_OPS random malloc/free;
 *   4. runs one thread that allocates, frees and exits (heap pool, mailbox
 *      publish at thread exit; not under TSan, which forbids threads after
 *      a multi-threaded fork);
 *   5. calls malloc_trim(0) (every lock of the trim path), and _exit(0).
 * Exit codes of a child: 0 ok, 2 damaged block, 3 malloc failed, 4 not
 * hakmem's, 5 thread failed.
 *
 * Asserted: every child exits 0 before its deadline (so no deadlock and no
 * damaged or foreign block in any child), and in the parent every block is
 * intact, hak_owns() == 1, and allocations == frees at the end.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "stress.h"

#define HAMMERS		4
#define NSLOTS		512
#define INBOX_CAP	1024
#define FROZEN		32
#define MAIN_BLOCKS	64
#define CHILD_BLOCKS	256
#define CHILD_OPS	(S_SLOW ? 1000 : 4000)
#define CHILD_TIMEOUT	(S_SLOW ? 60.0 : 10.0)	/* slowest seen: 0.5 s, busy box */
#define HAMMER_NICE	10
#define TRIM_EVERY	4096

#if T_TSAN
#define CHILD_THREAD	0
/*
 * hakmem's fork handlers hold every allocator lock at once (one per
 * mailbox class and more), beyond the 64 that TSan's deadlock detector can
 * track ("CHECK failed: sanitizer_deadlock_detector.h:67"); data-race
 * detection stays on.
 */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "detect_deadlocks=0";
}
#else
#define CHILD_THREAD	1
#endif

struct blk {
	void *p;
	size_t size;
	uint64_t key;
};

struct hammer {
	pthread_t tid;
	int idx;
	struct blk slot[NSLOTS];	/* this hammer only */
	struct blk frozen[FROZEN];	/* written before ready, then stable */
	_Atomic int ready;
	pthread_mutex_t lock;		/* inbox */
	size_t head, count;
	struct blk inbox[INBOX_CAP];
	uint64_t allocs, frees;		/* this hammer; read after join */
	uint64_t handed_out;
} __attribute__((aligned(64)));

static struct hammer hammers[HAMMERS];
static _Atomic int stop;

static __attribute__((noreturn, cold, format(printf, 1, 2))) void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fork_load: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(T_FAIL);
}

/* child_fail - no stdio in the child: one write(2) of a stack buffer */
static __attribute__((noreturn, cold, format(printf, 2, 3))) void
child_fail(int code, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "fork_load: child %d: ",
			 (int)getpid());

	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0)
		_exit(code);
	_exit(code);
}

static size_t hammer_size(struct t_rng *r)
{
	unsigned int pick = (unsigned int)(t_rand(r) % 100);

	if (pick < 80)
		return (size_t)t_rand_range(r, 16, 512);
	if (pick < 99)
		return (size_t)t_rand_range(r, 513, 32 * S_KiB);
	return (size_t)t_rand_range(r, 32 * S_KiB, 256 * S_KiB);
}

static size_t mixed_size(struct t_rng *r, size_t max)
{
	unsigned int pick = (unsigned int)(t_rand(r) % 100);
	size_t n;

	if (pick < 70)
		n = (size_t)t_rand_range(r, 1, 1024);
	else if (pick < 90)
		n = (size_t)t_rand_range(r, 1025, 128 * S_KiB);
	else
		n = (size_t)t_rand_range(r, 128 * S_KiB + 1, max);
	return n < max ? n : max;
}

/* alloc_blk - 0, or the child exit code of what went wrong */
static int alloc_blk(struct blk *b, size_t size, uint64_t seq)
{
	b->size = size;
	b->p = malloc(size);
	if (!b->p)
		return 3;
	b->key = s_key(b->p, size, seq);
	s_fill(b->p, size, b->key);
	/* after the fill: gcc 12 warns of a read of uninitialised memory */
	if (hak_owns(b->p) != 1)
		return 4;
	return 0;
}

/* check_free_blk - check @b and free it; 0 or a child exit code */
static int check_free_blk(struct blk *b)
{
	if (hak_owns(b->p) != 1)
		return 4;
	if (s_check(b->p, b->size, b->key) >= 0)
		return 2;
	free(b->p);
	b->p = NULL;
	return 0;
}

static void parent_check_free(struct blk *b, const char *what,
			      uint64_t *frees)
{
	int rc = check_free_blk(b);

	if (rc == 4)
		die("%s block %p size %zu: hak_owns() != 1", what, b->p,
		    b->size);
	if (rc)
		die("%s block %p size %zu: pattern damaged at offset %ld", what,
		    b->p, b->size, s_check(b->p, b->size, b->key));
	(*frees)++;
}

/* ---- hammers ---------------------------------------------------------------- */

static bool hand_off(struct hammer *to, const struct blk *b)
{
	bool ok = false;

	pthread_mutex_lock(&to->lock);
	if (to->count < INBOX_CAP) {
		to->inbox[(to->head + to->count) % INBOX_CAP] = *b;
		to->count++;
		ok = true;
	}
	pthread_mutex_unlock(&to->lock);
	return ok;
}

static void drain_inbox(struct hammer *h, uint64_t *frees)
{
	struct blk batch[64];

	for (;;) {
		size_t n = 0;

		pthread_mutex_lock(&h->lock);
		while (h->count && n < 64) {
			batch[n++] = h->inbox[h->head];
			h->head = (h->head + 1) % INBOX_CAP;
			h->count--;
		}
		pthread_mutex_unlock(&h->lock);
		if (!n)
			return;
		for (size_t k = 0; k < n; k++)
			parent_check_free(&batch[k], "handed-over", frees);
	}
}

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct hammer *next = &hammers[(h->idx + 1) % HAMMERS];
	struct t_rng r;
	uint64_t seq = 0;

	t_rng_seed(&r, 4242 + (uint64_t)h->idx);
	/* a lower weight than the forking thread and its children, which
	 * otherwise get a third of a core on a 2-core box; the hammers still
	 * run whenever a core is free, so forks still land mid-operation */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HAMMER_NICE);
	for (int i = 0; i < FROZEN; i++) {
		if (alloc_blk(&h->frozen[i], mixed_size(&r, 256 * S_KiB),
			      ++seq))
			die("hammer %d: frozen allocation failed", h->idx);
		h->allocs++;
	}
	/* release: the frozen blocks are complete before the flag */
	atomic_store_explicit(&h->ready, 1, memory_order_release);

	for (uint64_t it = 0;
	     !atomic_load_explicit(&stop, memory_order_relaxed); it++) {
		struct blk *b = &h->slot[t_rand(&r) % NSLOTS];

		if (it % 64 == 0)
			drain_inbox(h, &h->frees);
		/* hammer 0 also trims: every global lock, held often */
		if (h->idx == 0 && it % TRIM_EVERY == 0)
			s_trim();
		if (b->p) {
			if (t_rand(&r) % 100 < 30 && hand_off(next, b)) {
				b->p = NULL;
				h->handed_out++;
			} else {
				parent_check_free(b, "hammer", &h->frees);
			}
		}
		if (alloc_blk(b, hammer_size(&r), ++seq))
			die("hammer %d: allocation failed or not hakmem's",
			    h->idx);
		h->allocs++;
	}
	return NULL;
}

/* ---- the child -------------------------------------------------------------- */

static void *child_thread(void *arg)
{
	struct blk b[64];

	(void)arg;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 64; i++)
			if (alloc_blk(&b[i], (size_t)(16 + i * 97), (uint64_t)i))
				return (void *)1;
		for (int i = 0; i < 64; i++)
			if (check_free_blk(&b[i]))
				return (void *)1;
	}
	/* leave some live: they are published at exit, freed by main */
	for (int i = 0; i < 8; i++)
		if (alloc_blk(&b[i], (size_t)(32 + i * 200), (uint64_t)i))
			return (void *)1;
	return memcpy(malloc(sizeof(struct blk) * 8), b,
		      sizeof(struct blk) * 8);
}

static __attribute__((noreturn)) void child(struct blk *mainb, int iter)
{
	static struct blk own[CHILD_BLOCKS];
	struct t_rng r;
	int rc;

	t_rng_seed(&r, 99 + (uint64_t)iter);
	for (int i = 0; i < CHILD_BLOCKS; i++)
		if ((rc = alloc_blk(&own[i], mixed_size(&r, 512 * S_KiB),
				    (uint64_t)i)))
			child_fail(rc, "allocation %d failed (code %d)", i, rc);
	for (int i = 0; i < MAIN_BLOCKS; i++)
		if ((rc = check_free_blk(&mainb[i])))
			child_fail(rc, "parent's block %d (%p, %zu B): code %d",
				   i, mainb[i].p, mainb[i].size, rc);
	for (int k = 0; k < HAMMERS; k++)
		for (int i = 0; i < FROZEN; i++)
			if ((rc = check_free_blk(&hammers[k].frozen[i])))
				child_fail(rc, "hammer %d's frozen block %d (%p, %zu B): code %d",
					   k, i, hammers[k].frozen[i].p,
					   hammers[k].frozen[i].size, rc);
	for (int i = 0; i < CHILD_BLOCKS; i++)
		if ((rc = check_free_blk(&own[i])))
			child_fail(rc, "own block %d: code %d", i, rc);
	for (int k = 0; k < CHILD_OPS; k++) {
		struct blk *b = &own[t_rand(&r) % CHILD_BLOCKS];

		if (b->p && (rc = check_free_blk(b)))
			child_fail(rc, "op %d: code %d", k, rc);
		if ((rc = alloc_blk(b, t_rand(&r) % 64 ? (size_t)t_rand_range(
					&r, 1, 2048) : mixed_size(&r, 256 * S_KiB),
				    (uint64_t)k)))
			child_fail(rc, "op %d: allocation failed (code %d)", k,
				   rc);
	}
	if (CHILD_THREAD) {
		pthread_t t;
		void *res;
		struct blk *left;

		if (pthread_create(&t, NULL, child_thread, NULL) != 0 ||
		    pthread_join(t, &res) != 0)
			child_fail(5, "pthread_create/join failed");
		if (res == (void *)1 || !res)
			child_fail(5, "the child's thread failed");
		left = res;
		for (int i = 0; i < 8; i++)
			if ((rc = check_free_blk(&left[i])))
				child_fail(rc, "block left by the child's thread: code %d",
					   rc);
		free(left);
	}
	for (int i = 0; i < CHILD_BLOCKS; i++)
		if (own[i].p && (rc = check_free_blk(&own[i])))
			child_fail(rc, "final own block %d: code %d", i, rc);
	s_trim();
	_exit(0);
}

/* wait_child - 0 on exit 0, else a description in @why */
static int wait_child(pid_t pid, char *why, size_t len)
{
	double deadline = t_now() + CHILD_TIMEOUT;
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0) {
			snprintf(why, len, "waitpid: %s", strerror(errno));
			return -1;
		}
		if (t_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, len,
				 "still running after %.0f s: deadlock (killed)",
				 CHILD_TIMEOUT);
			return -1;
		}
		usleep(200);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(why, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(why, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(why, len, "status %#x", status);
	return -1;
}

int main(int argc, char **argv)
{
	bool smoke = t_smoke(argc, argv);
	const char *a_n = t_arg(argc, argv, 0);
	int forks = a_n ? atoi(a_n) : smoke ? 30 : S_SLOW ? 60 : 200;
	static struct blk mainb[MAIN_BLOCKS];
	uint64_t allocs = 0, frees = 0, hammer_allocs = 0, handed = 0;
	int ok = 0, bad = 0, hk = 0;
	double t0 = t_now(), max_wait = 0;
	struct t_rng r;

	if (forks < 1)
		die("usage: %s [--smoke] [forks]", argv[0]);
	t_rng_seed(&r, 7);
	for (int i = 0; i < HAMMERS; i++) {
		hammers[i].idx = i;
		pthread_mutex_init(&hammers[i].lock, NULL);
	}
	for (int i = 0; i < HAMMERS; i++)
		if (pthread_create(&hammers[i].tid, NULL, hammer_main,
				   &hammers[i]))
			die("pthread_create failed");
	for (int i = 0; i < HAMMERS; i++)
		while (!atomic_load_explicit(&hammers[i].ready,
					     memory_order_acquire))
			sched_yield();

	for (int it = 0; it < forks; it++) {
		char why[128];
		double tw;
		pid_t pid;

		for (int i = 0; i < MAIN_BLOCKS; i++) {
			if (alloc_blk(&mainb[i], mixed_size(&r, 1 * S_MiB),
				      (uint64_t)it << 8 | (uint64_t)i))
				die("main: allocation failed or not hakmem's");
			allocs++;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0)
			child(mainb, it);
		tw = t_now();
		if (wait_child(pid, why, sizeof(why)) == 0) {
			ok++;
		} else {
			bad++;
			CHECK(0, "fork %d: child %d %s", it, (int)pid, why);
		}
		tw = t_now() - tw;
		if (tw > max_wait)
			max_wait = tw;
		/* the parent's copies are untouched by the child */
		for (int i = 0; i < MAIN_BLOCKS; i++) {
			if (i % 2 && hand_off(&hammers[hk++ % HAMMERS],
					      &mainb[i])) {
				handed++;
				continue;
			}
			parent_check_free(&mainb[i], "main", &frees);
		}
		if (bad > 3)
			break;	/* enough evidence */
	}

	atomic_store_explicit(&stop, 1, memory_order_relaxed);
	for (int i = 0; i < HAMMERS; i++)
		pthread_join(hammers[i].tid, NULL);
	for (int i = 0; i < HAMMERS; i++) {
		struct hammer *h = &hammers[i];

		drain_inbox(h, &frees);
		for (int k = 0; k < NSLOTS; k++)
			if (h->slot[k].p)
				parent_check_free(&h->slot[k], "final", &frees);
		for (int k = 0; k < FROZEN; k++)
			parent_check_free(&h->frozen[k], "frozen", &frees);
		hammer_allocs += h->allocs;
		frees += h->frees;
		pthread_mutex_destroy(&h->lock);
	}
	allocs += hammer_allocs;

	CHECK(ok == forks, "%d of %d children exited 0", ok, forks);
	CHECK(allocs == frees, "%llu allocations, %llu frees",
	      (unsigned long long)allocs, (unsigned long long)frees);
	printf("fork_load: %d forks under %d hammering threads (%.2fM hammer allocations, %llu main blocks handed to hammers) in %.2fs: "
	       "%d children exited 0, %d failed; slowest child %.3fs (deadline %.0fs); child thread %s\n",
	       ok + bad, HAMMERS, (double)hammer_allocs / 1e6,
	       (unsigned long long)handed, t_now() - t0, ok, bad, max_wait,
	       CHILD_TIMEOUT, CHILD_THREAD ? "on" : "off (TSan)");
	return t_result();
}
