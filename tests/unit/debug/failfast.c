// SPDX-License-Identifier: MIT
/*
 * unit/debug/failfast.c - every fail-fast check fires on the bug it is for:
 * each case breaks exactly one invariant in a forked child, and the test
 * asserts the child died by a signal after printing the expected one-line
 * diagnostic.  In release builds the always-on checks (double free at the
 * head of a list, a pointer hakmem does not own) are asserted the same way.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "hakmem.h"
#include "helpers.h"
#include "superslab/superslab.h"

#ifndef HAK_FAILFAST
#define HAK_FAILFAST 0
#endif
#ifndef HAK_ASAN
#define HAK_ASAN 0
#endif
#ifndef HAK_VALGRIND
#define HAK_VALGRIND 0
#endif

static void *volatile sink;

/* through volatile pointers: the compiler must not pair up and elide the
 * malloc/free calls these bugs are made of */
static void *(*volatile xmalloc)(size_t) = malloc;
static void (*volatile xfree)(void *) = free;

static void double_free_head(void)
{
	char *a = xmalloc(32);

	xfree(a);
	xfree(a);
}

static void double_free_deep(void)
{
	char *a = xmalloc(32), *b = xmalloc(32);

	xfree(a);
	xfree(b);
	xfree(a);
}

static void foreign_pointer(void)
{
	char local[64];

	sink = local;
	xfree(local + 16);
}

static void corrupt_next(void)
{
	char *a = xmalloc(64), *b = xmalloc(64);

	xfree(b);
	xfree(a);				/* a's link now points at b */
	*(uintptr_t *)a = 0x1234560;		/* a write after free */
	sink = xmalloc(64);			/* pops a, follows the link */
	sink = xmalloc(64);
}

static void interior_pointer(void)
{
	char *p = xmalloc(64);

	xfree(p + 16);
}

static void bad_magic(void)
{
	char *p = xmalloc(64);

	struct hak_chunk *c = hak_ss_chunk_of((uintptr_t)p);

	*(volatile uint64_t *)&c->magic = 0;
	xfree(p);
}

static void *free_twice(void *arg)
{
	xfree(arg);
	xfree(arg);
	return NULL;
}

static void remote_double_push(void)
{
	pthread_t t;
	char *x = xmalloc(48);

	pthread_create(&t, NULL, free_twice, x);
	pthread_join(t, NULL);
	for (int i = 0; i < 20000; i++)		/* drain happens on refill */
		sink = xmalloc(48);
}

struct kase {
	const char *name;
	void (*fn)(void);
	const char *expect;	/* substring of the one-line diagnostic */
	bool release;		/* also caught by release builds */
};

static const struct kase cases[] = {
	{ "double free (head)", double_free_head,
	  HAK_FAILFAST ? "failfast: double free: block at the head" :
	  "hakmem: free(): double free of", true },
	{ "double free (deep)", double_free_deep,
	  "failfast: double free: block already on its slab's free list",
	  false },
	{ "foreign pointer", foreign_pointer,
	  HAK_FAILFAST ? "failfast: pointer hakmem does not own" :
	  "hakmem: free(): invalid pointer", true },
	{ "write after free", corrupt_next,
	  "failfast: free-list next pointer outside its slab", false },
	{ "interior pointer", interior_pointer,
	  "failfast: free of a pointer that is not a block start", false },
	{ "bad magic", bad_magic,
	  "failfast: registry entry without a valid SuperSlab magic", false },
	{ "remote double push", remote_double_push,
	  "failfast: remote node pushed twice", false },
};

static void run(const struct kase *k)
{
	int fds[2], status;
	char out[4096];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		t_die("pipe");
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		k->fn();
		_exit(0);	/* survived: the check did not fire */
	}
	close(fds[1]);
	while (len < sizeof(out) - 1 &&
	       (n = read(fds[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status), "%s: child exited %d instead of dying",
	      k->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	CHECK(strstr(out, k->expect), "%s: want \"%s\", got \"%s\"", k->name,
	      k->expect, out);
	CHECK(!strchr(out, '\n') || strchr(out, '\n') == out + len - 1 ||
	      strstr(out, "trace ring"), "%s: more than one line: %s",
	      k->name, out);
}

int main(void)
{
	int ran = 0;

#if defined(HAK_TEST_API_ONLY) || HAK_ASAN || HAK_VALGRIND
	/* sanitizer flavours report these bugs themselves (tests/negative) */
	return T_SKIP;
#endif
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!HAK_FAILFAST && !cases[i].release)
			continue;
		run(&cases[i]);
		ran++;
	}
	printf("failfast: %d cases (%s checks)\n", ran,
	       HAK_FAILFAST ? "fail-fast" : "release");
	return t_result();
}
