// SPDX-License-Identifier: MIT
/*
 * unit/debug/profile.c - the heap profiler (HAKMEM_PROFILE) linked into a
 * program (libhakmem.a), and its unwinder, libgcc_s, loaded at run time
 * rather than linked (debug/profile.c says why):
 *   1. profiling on: the profile has stacks of several frames (the
 *      unwinder was loaded) and libgcc_s is mapped;
 *   2. profiling off: libgcc_s is not mapped (where nothing else, such as
 *      a sanitizer runtime, loads it);
 *   3. libgcc_s cannot be loaded (this program's dlopen() refuses it): one
 *      warning, the program runs on, no profile is written;
 *   4. HAKMEM_PROFILE set by the program after start-up: one warning,
 *      profiling off.
 * Each runs this program again with the environment of the case.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

#include "debug_test.h"
#include "hakmem.h"
#include "helpers.h"

#ifndef HAK_VALGRIND
#define HAK_VALGRIND 0
#endif

/* linked into the program, this dlopen() is the one libhakmem.a's calls
 * reach: it refuses libgcc_s when the environment says so */
void *dlopen(const char *file, int mode)
{
	void *(*real)(const char *, int);

	if (file && strstr(file, "libgcc_s") && getenv("T_NO_LIBGCC"))
		return NULL;
	*(void **)&real = dlsym(RTLD_NEXT, "dlopen");
	return real ? real(file, mode) : NULL;
}

/* mapped - some line of /proc/self/maps names a file that contains one
 * of the @n strings of @what */
static bool mapped(const char *const *what, int n)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		for (int i = 0; i < n; i++)
			if (strstr(line, what[i]))
				found = true;
	fclose(f);
	return found;
}

static __attribute__((noipa)) void *site(size_t n)
{
	void *p = malloc(n);

	if (p)
		memset(p, 1, n < 64 ? n : 64);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

static void *keep[4096];

static int child(bool late)
{
	static char set[] = "HAKMEM_PROFILE=/nonexistent/late.heap";

	/* setenv() would malloc, and so start hakmem, before it sets the
	 * variable: the entry T_LATE holds becomes HAKMEM_PROFILE instead */
	for (char **e = environ; late && *e; e++)
		if (!strncmp(*e, "T_LATE=", 7))
			*e = set;
	static const char *const gcc[] = { "/libgcc_s.so" };
	/* a sanitizer runtime loads libgcc_s itself, and the libraries it
	 * needs allocate in their constructors: hakmem starts before main() */
	static const char *const san[] = { "/libasan.", "/libtsan.",
					   "/libubsan.", "/libclang_rt." };

	printf("libgcc_s %s\n", mapped(gcc, 1) ? "mapped" : "absent");
	printf("sanitizer %s\n", mapped(san, 4) ? "yes" : "no");
	for (size_t i = 0; i < 4096; i++)
		if (!(keep[i] = site(1000)))
			return 1;
	printf("allocated\n");
	fflush(stdout);
	return 0;
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;

	for (; (s = strstr(s, what)); s++)
		n++;
	return n;
}

/* deepest - the most frames of any stack in the heap profile @file */
static unsigned deepest(const char *file)
{
	char line[4096];
	unsigned most = 0;
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *at = strstr(line, "] @");

		if (at && strncmp(line, "heap profile:", 13))
			most = count(at, " 0x") > most ? count(at, " 0x") : most;
	}
	fclose(f);
	return most;
}

int main(int argc, char **argv)
{
	static char out[1 << 16];
	char dir[] = "/tmp/hak_profile_XXXXXX", heap[64], env_prof[96];
	int st;

#if HAK_VALGRIND
	return T_SKIP;	/* /proc/self/exe is valgrind's, not this program */
#endif
	if (argc > 1 && !strcmp(argv[1], "--child"))
		return child(false);
	if (argc > 1 && !strcmp(argv[1], "--late"))
		return child(true);
	if (!mkdtemp(dir))
		t_die("mkdtemp");
	snprintf(heap, sizeof(heap), "%s/p.heap", dir);
	snprintf(env_prof, sizeof(env_prof), "HAKMEM_PROFILE=%s", heap);

	/* 1. on: stacks through the program's frames */
	char *on[] = { env_prof, "HAKMEM_PROFILE_INTERVAL=4096", NULL };
	st = run_self(argv, "--child", on, true, out, sizeof(out));
	CHECK(st == 0 && strstr(out, "allocated"), "on: status %d: %s", st, out);
	CHECK(strstr(out, "libgcc_s mapped"), "on: libgcc_s not loaded: %s", out);
	CHECK(!strstr(out, "hakmem:"), "on: a warning: %s", out);
	unsigned depth = deepest(heap);
	CHECK(depth >= 3, "on: the deepest stack has %u frames", depth);
	unlink(heap);
	remove(strcat(strcpy(out, heap), ".collapsed"));

	/* 2. off: libgcc_s is loaded by nobody (a sanitizer runtime needs
	 * it: not checked there) */
	char *off[] = { NULL };
	st = run_self(argv, "--child", off, true, out, sizeof(out));
	CHECK(st == 0 && strstr(out, "allocated"), "off: status %d: %s", st, out);
	bool san = strstr(out, "sanitizer yes");
	if (!san)
		CHECK(strstr(out, "libgcc_s absent"),
		      "off: libgcc_s loaded without the profiler: %s", out);

	/* 3. no unwinder: said once, the program runs on, no profile */
	char *none[] = { env_prof, "T_NO_LIBGCC=1", NULL };
	st = run_self(argv, "--child", none, true, out, sizeof(out));
	CHECK(st == 0 && strstr(out, "allocated"), "none: status %d: %s", st,
	      out);
	CHECK(count(out, "hakmem:") == 1 &&
	      strstr(out, "hakmem: HAKMEM_PROFILE: no unwinder"),
	      "none: not one warning: %s", out);
	CHECK(access(heap, F_OK) != 0, "none: a profile was written");

	/* 4. set after start-up: said once, off */
	char *late[] = { "T_LATE=1", NULL };
	st = run_self(argv, "--late", late, true, out, sizeof(out));
	CHECK(st == 0 && strstr(out, "allocated"), "late: status %d: %s", st,
	      out);
	/* under a sanitizer hakmem may have started before the change (the
	 * runtime's libraries allocate in their constructors): then it saw no
	 * HAKMEM_PROFILE, and says nothing */
	unsigned said = count(out, "hakmem:");
	bool late_said = strstr(out, "HAKMEM_PROFILE: set after start-up");
	CHECK(said == 1 ? late_said : san && said == 0,
	      "late: %u warning(s): %s", said, out);

	unlink(heap);
	rmdir(dir);
	printf("profile: deepest stack %u frames; off, no-unwinder and late "
	       "cases as expected%s\n", depth,
	       san ? " (a sanitizer: libgcc_s when off not checked)" : "");
	return t_result();
}
