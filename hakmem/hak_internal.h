/* SPDX-License-Identifier: MIT */
/*
 * hak_internal.h - compiler attributes, configuration variants, checks and
 * atomics shared by every box.  Depends on nothing of ours.
 *
 * Variants (always defined, tested with `if`, never #ifdef; -Wundef):
 *   HAK_DEBUG     0 release, 1 internal asserts, 2 also O(n) validation
 *   HAK_FAILFAST  1: boundary checks trap at the failing site
 *   HAK_RELEASE_CHECKS  1 (default): the release hardening (README,
 *                 "Security model"): encoded free-list links checked on
 *                 pop, exact block-start check and free mark on free
 */
#ifndef HAK_INTERNAL_H
#define HAK_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef HAK_DEBUG
#define HAK_DEBUG 0
#endif
#ifndef HAK_FAILFAST
#define HAK_FAILFAST 0
#endif
/*
 * HAK_RELEASE_CHECKS 0 drops the always-on checks (for measuring what they
 * cost, `make bench-checks`; never for shipping): links stored plain, no
 * block-start check or free mark, only a double free of a list head caught.
 */
#ifndef HAK_RELEASE_CHECKS
#define HAK_RELEASE_CHECKS 1
#endif

#define hak_likely(x)	__builtin_expect(!!(x), 1)
#define hak_unlikely(x)	__builtin_expect(!!(x), 0)

/* HAK_FAST: always inlined hot path.  HAK_SLOW: out of line, cold. */
#define HAK_FAST	static inline __attribute__((always_inline))
#define HAK_SLOW	__attribute__((noinline, cold))
#define HAK_EXPORT	__attribute__((visibility("default")))
/* on an extern declaration: defined in this library, so one RIP-relative
 * operand reaches it (no GOT load) */
#define HAK_HIDDEN	__attribute__((visibility("hidden")))
#define HAK_NORETURN	__attribute__((noreturn))
#define HAK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HAK_TLS_IE	__attribute__((tls_model("initial-exec")))
/*
 * HAK_LBSS - on a large zero-filled static that most programs touch in a
 * page or two or not at all (the registry's map, buffers of the debug
 * options): it goes to .lbss, which the linker places after every .bss,
 * so that the small variables the allocator writes at start-up share a
 * few pages instead of lying scattered between these.  No file space, the
 * same RIP-relative code.  gcc on x86-64 ELF only: clang marks such a
 * section PROGBITS (64 MiB of zeros in the file); elsewhere plain .bss.
 */
#if defined(__x86_64__) && defined(__ELF__) && !defined(__clang__)
#define HAK_LBSS	__attribute__((section(".lbss")))
#else
#define HAK_LBSS
#endif

#define HAK_BUILD_BUG_ON(cond) _Static_assert(!(cond), #cond)

#define HAK_ALIGN_UP(x, a)	(((x) + ((a) - 1)) & ~((uintptr_t)(a) - 1))
#define HAK_ALIGN_DOWN(x, a)	((x) & ~((uintptr_t)(a) - 1))
#define HAK_IS_POW2(x)		((x) != 0 && ((x) & ((x) - 1)) == 0)

/*
 * hak_start - the library's start-up (options read, boxes configured, fork
 * handlers installed): idempotent, safe to re-enter from malloc.  Supplied
 * by the top layer (api.c points it at hak_init()); the boxes below and
 * debug/ call it through this pointer, so that no file names a function of
 * a layer above its own.
 */
extern void (*const hak_start)(void);

/* hak_fatal - one line on stderr (write(2), no allocation), then abort. */
HAK_NORETURN HAK_SLOW HAK_PRINTF(1, 2) void hak_fatal(const char *fmt, ...);
/* hak_warn - one line on stderr, no allocation. */
HAK_SLOW HAK_PRINTF(1, 2) void hak_warn(const char *fmt, ...);
/* hak_snprintf - async-signal-safe subset (%s %d %u %zu %lu %x %lx %p %c %%). */
int hak_snprintf(char *buf, size_t n, const char *fmt, ...) HAK_PRINTF(3, 4);

/* HAK_CHECK: always compiled in; caller misuse (double free, foreign ptr). */
#define HAK_CHECK(cond, ...)						\
	do {								\
		if (hak_unlikely(!(cond)))				\
			hak_fatal(__VA_ARGS__);				\
	} while (0)

/* HAK_ASSERT: internal invariant, on when HAK_DEBUG >= 1. */
#define HAK_ASSERT(cond)						\
	do {								\
		if (HAK_DEBUG >= 1 && hak_unlikely(!(cond)))		\
			hak_fatal("hakmem: assertion '%s' failed at %s:%d", \
				  #cond, __FILE__, __LINE__);		\
	} while (0)

/* HAK_ASSERT_SLOW: an O(n) check (a list walk), on when HAK_DEBUG >= 2 (the
 * debug and failfast flavours). */
#define HAK_ASSERT_SLOW(cond)						\
	do {								\
		if (HAK_DEBUG >= 2 && hak_unlikely(!(cond)))		\
			hak_fatal("hakmem: assertion '%s' failed at %s:%d", \
				  #cond, __FILE__, __LINE__);		\
	} while (0)

/* Relaxed atomics spelled short; every use says why relaxed is enough. */
#define hak_load_relaxed(p)	atomic_load_explicit((p), memory_order_relaxed)
#define hak_store_relaxed(p, v)	atomic_store_explicit((p), (v), memory_order_relaxed)
#define hak_load_acquire(p)	atomic_load_explicit((p), memory_order_acquire)
#define hak_store_release(p, v)	atomic_store_explicit((p), (v), memory_order_release)

#include "hak_list.h"	/* the intrusive list every box uses */

#endif /* HAK_INTERNAL_H */
