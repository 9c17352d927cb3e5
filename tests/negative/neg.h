/* SPDX-License-Identifier: MIT */
/*
 * tests/negative/neg.h - shared by the negative tests: programs that commit
 * one real bug on a hakmem block so that a flavour's tool can prove it sees
 * it (tests/negative/expect.sh runs them; they are not *.t tests).
 *
 * Before the bug each program proves the block is hakmem's: neg_prove()
 * looks hak_owns() up with dlsym() (the library is preloaded, or linked
 * with its symbol exported) and prints "negative: NAME: BLOCK is hakmem's"
 * on stderr, or exits NEG_NOT_OURS when the block is somebody else's.
 * Messages go out with write(2), so printing allocates nothing.
 */
#ifndef HAK_TESTS_NEG_H
#define HAK_TESTS_NEG_H

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NEG_NOT_OURS 3		/* exit status: the block is not hakmem's */

static __attribute__((format(printf, 1, 2), unused)) void
neg_say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (n > 0 && write(2, buf, (size_t)n) < 0)
		_exit(1);
}

/* neg_prove - exit NEG_NOT_OURS unless hakmem owns @p. */
static __attribute__((unused)) void neg_prove(const char *name, void *p)
{
	int (*owns)(const void *);

	*(void **)&owns = dlsym(RTLD_DEFAULT, "hak_owns");
	if (!owns || !p || !owns(p)) {
		neg_say("negative: %s: %p is NOT hakmem's (%s); the test "
			"proves nothing\n", name, p,
			owns ? "hak_owns() says no" : "no hak_owns()");
		exit(NEG_NOT_OURS);
	}
	neg_say("negative: %s: %p is hakmem's\n", name, p);
}

/* Keep the compiler from seeing through a pointer or a value. */
#define neg_launder(x)                                                      \
	({                                                                  \
		__auto_type v_ = (x);                                       \
		__asm__ volatile("" : "+r"(v_));                            \
		v_;                                                         \
	})

#endif /* HAK_TESTS_NEG_H */
