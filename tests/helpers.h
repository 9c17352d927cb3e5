/* SPDX-License-Identifier: MIT */
/*
 * tests/helpers.h - header-only helpers shared by the C tests (t_ prefix,
 * after liburing's test/helpers.h).
 *
 * Exit codes follow the automake convention that tests/run.sh honours:
 * T_PASS 0, T_FAIL 1, T_SKIP 77.
 *
 * CHECK(cond, fmt, ...) never aborts: a failed check prints
 * "file:line: CHECK(expr) failed: message" on stderr, bumps a per-program
 * failure count and evaluates to 0 (1 when the check held), so a test can
 * go on, or bail out of a loop with `if (!CHECK(...)) break;`.  A test ends
 * with `return t_result();`.  After T_MAX_REPORTS failures only the count
 * grows, so a broken loop cannot flood the log.
 *
 * Everything is static inline (or static and marked unused); each test is
 * one translation unit, so the counters are per program.  Nothing here
 * calls malloc except through stdio on the failure path.
 */
#ifndef HAK_TESTS_HELPERS_H
#define HAK_TESTS_HELPERS_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

#define T_MAX_REPORTS 25

/*
 * T_ASAN, T_TSAN: 1 when this program is built with AddressSanitizer or
 * ThreadSanitizer.  gcc says so with __SANITIZE_ADDRESS__ and
 * __SANITIZE_THREAD__; clang (up to 15 and 16 respectively) only with
 * __has_feature(address_sanitizer) and __has_feature(thread_sanitizer),
 * which gcc before 14 lacks (hence the nested #if).
 */
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif
#ifndef T_TSAN
#define T_TSAN 0
#endif

#define t_likely(x) __builtin_expect(!!(x), 1)
#define t_unlikely(x) __builtin_expect(!!(x), 0)

/* Number of failed CHECKs so far (all threads; updated atomically). */
static unsigned long t_failures __attribute__((unused));

static __attribute__((format(printf, 4, 5), noinline, cold, unused)) int
t_check_fail(const char *file, int line, const char *expr, const char *fmt,
	     ...)
{
	unsigned long n = __atomic_add_fetch(&t_failures, 1, __ATOMIC_RELAXED);
	va_list ap;

	if (n > T_MAX_REPORTS) {
		if (n == T_MAX_REPORTS + 1)
			fprintf(stderr, "(further CHECK failures not shown)\n");
		return 0;
	}
	flockfile(stderr);
	fprintf(stderr, "%s:%d: CHECK(%s) failed: ", file, line, expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	return 0;
}

/* CHECK(cond, fmt, ...) - 1 if @cond holds, else report and return 0. */
#define CHECK(cond, ...)                                                    \
	(t_likely(cond) ? 1                                                 \
			: t_check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))

/* t_failed - failed CHECKs so far. */
static inline unsigned long t_failed(void)
{
	return __atomic_load_n(&t_failures, __ATOMIC_RELAXED);
}

/* t_result - the exit code for main(): T_FAIL if any CHECK failed. */
static inline int t_result(void)
{
	unsigned long n = t_failed();

	if (n) {
		fprintf(stderr, "%lu check(s) failed\n", n);
		return T_FAIL;
	}
	return T_PASS;
}

/* t_die - print a message and exit T_FAIL at once (for setup errors). */
static inline __attribute__((format(printf, 1, 2), noreturn, cold)) void
t_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(T_FAIL);
}

/*
 * t_smoke - true when the test should run its small CI configuration:
 * "--smoke" anywhere in argv, or T_SMOKE=1 in the environment.
 */
static inline bool t_smoke(int argc, char **argv)
{
	const char *env = getenv("T_SMOKE");

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--smoke") == 0)
			return true;
	return env && env[0] == '1';
}

/*
 * t_arg - the @n-th (0-based) positional argument, skipping options that
 * start with "--"; NULL if there are fewer.
 */
static inline const char *t_arg(int argc, char **argv, int n)
{
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0)
			continue;
		if (n-- == 0)
			return argv[i];
	}
	return NULL;
}

/*
 * t_status_kb - the value in kB of a "Key:   123 kB" line of
 * /proc/self/status (e.g. "VmRSS", "VmHWM"), or -1.  Uses read(2) into a
 * stack buffer, so it does not allocate.
 */
static inline long t_status_kb(const char *key)
{
	char buf[8192];
	size_t klen = strlen(key);
	ssize_t n, len = 0;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';

	for (char *line = buf; line && *line;) {
		char *next = strchr(line, '\n');

		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			return strtol(line + klen + 1, NULL, 10);
		line = next ? next + 1 : NULL;
	}
	return -1;
}

/* t_rss_kb - current resident set size in kB (VmRSS), or -1. */
static inline long t_rss_kb(void)
{
	return t_status_kb("VmRSS");
}

/* t_hwm_kb - peak resident set size in kB (VmHWM), or -1. */
static inline long t_hwm_kb(void)
{
	return t_status_kb("VmHWM");
}

/* t_now - monotonic time in seconds. */
static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- PRNG: xorshift64*, seeded through splitmix64 (never zero) -------- */

struct t_rng {
	uint64_t s;
};

static inline uint64_t t_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline void t_rng_seed(struct t_rng *r, uint64_t seed)
{
	r->s = t_mix64(seed);
	if (!r->s)
		r->s = 0x2545f4914f6cdd1dull;
}

static inline uint64_t t_rand(struct t_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* t_rand_range - uniform in [lo, hi] (inclusive); slight modulo bias. */
static inline uint64_t t_rand_range(struct t_rng *r, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;

	return span ? lo + t_rand(r) % span : t_rand(r);
}

/* t_chance - true with probability @percent / 100. */
static inline bool t_chance(struct t_rng *r, unsigned int percent)
{
	return t_rand(r) % 100 < percent;
}

#endif /* HAK_TESTS_HELPERS_H */
