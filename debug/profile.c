// SPDX-License-Identifier: MIT
/*
 * debug/profile.c - the heap profiler (HAKMEM_PROFILE=FILE): where the
 * live memory was allocated, by call stack, sampled by bytes.
 *
 * Sampling.  Each thread counts down a random number of bytes, drawn from
 * an exponential distribution of mean HAKMEM_PROFILE_INTERVAL (512 KiB by
 * default): the allocation that crosses zero is sampled, so a block of
 * size S is sampled with probability 1 - exp(-S / interval), the Poisson
 * process of tcmalloc and jemalloc that `pprof` knows how to scale back
 * ("heap_v2/INTERVAL").  A fixed seed per thread makes a single-threaded
 * run reproducible.
 *
 * Cost.  Off, nothing: the hooks (debug/hooks.h) sit in the slow paths
 * behind one flag set at start-up.  On, hak_init() turns the tiny box's
 * shadow heaps on (as HAKMEM_STATS does), so every malloc and free reaches
 * a slow path and these hooks; an unsampled malloc costs a TLS
 * subtraction, an unsampled free one relaxed load of a filter counter.
 * A sampled malloc unwinds its stack (libgcc's _Unwind_Backtrace: DWARF
 * tables, no frame pointers needed) and takes the profile lock.
 *
 * Unwinder.  libgcc_s is not linked (the library needs libc only: `make
 * lint`'s check-needed), so that the processes that do not profile do not
 * load it; our constructor dlopen()s it when the profiler is on (see
 * load_unwinder()).  A sample taken before (a library started before us,
 * allocating in its constructor) has an empty stack.  No unwinder, or
 * HAKMEM_PROFILE set by the program after start-up: a warning, and off.
 *
 * Re-entrancy.  The unwinder runs without the lock and with this thread's
 * `busy` flag set: a malloc it made would come back here and be passed
 * over, not sampled (libgcc's unwinder does not allocate on glibc >= 2.35,
 * where it finds the tables through _dl_find_object; the flag is the
 * guard).  Nothing under the lock allocates or takes another lock, and
 * no hook runs under another box's lock: `lock` is a leaf, taken through
 * hak_lock() (hak_lock.h) and last by hakmem/fork.c's handlers.
 *
 * Data, all in memory mapped from the OS, under `lock`:
 *   stacks[]  distinct call stacks with their live and total counts
 *   samples[] the live sampled blocks (open addressing, linear probing,
 *             deletion by backward shift), each naming its stack
 *   filter[]  per hash bucket of samples[], how many live samples hash
 *             there: a free reads its counter without the lock and looks
 *             further only when it is not zero
 * A sampled block is inserted before malloc returns it, so a free of it
 * (in any thread, after the program handed the pointer over) sees the
 * counter.  Full tables drop samples (counted; each dump warns on stderr).
 *
 * Output (at exit, on hak_profile_dump(), on SIGUSR2): debug/profile_write.c
 * writes the stacks.  A SIGUSR2 dumps at once when the lock is free, else
 * when the thread holding it lets it go; then the handler that was
 * installed before ours (the trace ring's) runs too.
 */
#define _GNU_SOURCE
#include "debug/hooks.h"
#include "debug/debug.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <unwind.h>

#include "debug/profile.h"
#include "hak_lock.h"
#include "hakmem.h"
#include "os/os.h"

#define NSTACK		16384		/* distinct stacks kept */
#define NBUCKET		32768		/* stack hash buckets */
#define NSAMPLE		(1u << 18)	/* sample slots; at most half used */
#define NFILTER		(1u << 16)

struct sample {
	uintptr_t p;			/* 0: empty slot */
	uint32_t stack;
	uint64_t size, est;
};

bool hak_prof_on;			/* set once by hak_prof_init() */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct stack *stacks;		/* lock */
static uint32_t *bucket;		/* lock */
static uint32_t nstacks;		/* lock */
static struct sample *samples;		/* lock */
static uint32_t nsamples;		/* lock */
static uint64_t dropped;		/* lock: samples not kept (tables full) */
static _Atomic uint16_t *filter;	/* any thread, relaxed; see top */
static _Atomic int pending;		/* a SIGUSR2 found the lock taken */
static _Atomic uint64_t seeds;		/* thread seeds handed out */
static char path[4096] HAK_LBSS;			/* HAKMEM_PROFILE, set once */
static uint64_t interval;		/* HAKMEM_PROFILE_INTERVAL, set once */
static uintptr_t self_lo, self_hi;	/* our code when we are a .so */
static struct sigaction old_usr2;	/* the handler before ours */

/* the unwinder, from libgcc_s (not linked: see top), set by load_unwinder() */
#define LIBGCC_S	"libgcc_s.so.1"
static __typeof__(_Unwind_Backtrace) *unw_backtrace;
static __typeof__(_Unwind_GetIP) *unw_get_ip;
static __typeof__(_Unwind_GetRegionStart) *unw_region_start;
static _Atomic int unw_ready;		/* release: the three are set */

static __thread int64_t left HAK_TLS_IE;	/* bytes to the next sample */
static __thread uint64_t rng HAK_TLS_IE;
static __thread int busy HAK_TLS_IE;	/* unwinding or dumping */

/* ---- numbers (no libm: the library links libc only) ---------------------- */

static uint64_t next_rand(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* ln_unit - ln(u) for u in (0, 1]: u = m * 2^e, m in [1, 2), and
 * ln(m) = 2 atanh((m - 1) / (m + 1)), a series in t <= 1/3 (error < 1e-7) */
static double ln_unit(double u)
{
	union { double d; uint64_t u; } v = { .d = u };
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	double t, t2;

	v.u = (v.u & ~(0x7ffULL << 52)) | (1023ULL << 52);
	t = (v.d - 1) / (v.d + 1);
	t2 = t * t;
	return e * 0.6931471805599453 +
	       2 * t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 +
			t2 * (1.0 / 9 + t2 / 11)))));
}

/* exp_neg - exp(-x) for x >= 0: exp(-x / 64) by its series, squared six
 * times (relative error < 1e-9 for the x the weights use) */
static double exp_neg(double x)
{
	double y, r;

	if (x > 700)
		return 0;
	y = x / 64;
	r = 1 - y * (1 - y / 2 * (1 - y / 3 * (1 - y / 4 * (1 - y / 5))));
	for (int i = 0; i < 6; i++)
		r *= r;
	return r;
}

/* next_interval - bytes to the next sample: exponential, mean interval */
static int64_t next_interval(void)
{
	double u = (double)((next_rand() >> 11) + 1) * (1.0 / 9007199254740992.0);
	double b = -ln_unit(u) * (double)interval;

	return b < 1 ? 1 : b > 1e15 ? (int64_t)1e15 : (int64_t)b;
}

/* weight - the bytes a sampled block of @size stands for */
static uint64_t weight(uint64_t size)
{
	double p = 1 - exp_neg((double)size / (double)interval);

	return p > 0 ? (uint64_t)((double)size / p + 0.5) : size;
}

static uint32_t hash_ptr(uintptr_t p)
{
	return (uint32_t)(((uint64_t)p * 0x9e3779b97f4a7c15ULL) >> 32);
}

/* ---- unwinding ------------------------------------------------------------ */

struct walk {
	uintptr_t *pc;
	unsigned n;
	bool own;		/* still in the profiler's frames */
	bool skipping;		/* still in hakmem's frames */
};

/*
 * walk_frame - one frame, leaf first.  The profiler's own frames end with
 * hak_prof_alloc_slow()'s (told by the function's start, which the unwind
 * tables know); as a shared object we then skip every frame in our code,
 * so the stack starts at the caller of malloc.  Linked into the program,
 * our range is not known: the stack starts at the function with the hook
 * (pprof drops the frames up to malloc/calloc/operator new, when the
 * entry point did not tail-call its slow path).
 */
static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t ip = unw_get_ip(ctx);

	if (!ip)
		return _URC_END_OF_STACK;
	if (w->own) {
		if (unw_region_start(ctx) == (uintptr_t)hak_prof_alloc_slow)
			w->own = false;
		return _URC_NO_REASON;
	}
	if (w->skipping) {
		if (ip >= self_lo && ip < self_hi)
			return _URC_NO_REASON;
		w->skipping = false;
	}
	w->pc[w->n++] = ip;
	return w->n == MAX_DEPTH ? _URC_END_OF_STACK : _URC_NO_REASON;
}

/* unwind - the caller's stack, leaf first, without hakmem's frames; none
 * before the unwinder is loaded (a sample taken while the libraries below
 * us start: an empty stack, "[unknown]" in the collapsed file) */
static __attribute__((noinline)) unsigned unwind(uintptr_t *pc)
{
	struct walk w = { .pc = pc, .own = true, .skipping = true };

	/* acquire: pairs with load_unwinder()'s release; the three are set */
	if (!atomic_load_explicit(&unw_ready, memory_order_acquire))
		return 0;
	unw_backtrace(walk_frame, &w);
	return w.n;
}

/* ---- tables (lock held) -------------------------------------------------- */

static uint32_t stack_intern(const uintptr_t *pc, unsigned depth)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	uint32_t *slot, i;

	for (unsigned k = 0; k < depth; k++)
		h = (h ^ pc[k]) * 0x100000001b3ULL;
	slot = &bucket[h % NBUCKET];
	for (i = *slot; i; i = stacks[i - 1].next) {
		struct stack *s = &stacks[i - 1];

		if (s->hash == h && s->depth == depth &&
		    !memcmp(s->pc, pc, depth * sizeof(*pc)))
			return i - 1;
	}
	if (nstacks == NSTACK)
		return UINT32_MAX;
	i = nstacks++;
	stacks[i].hash = h;
	stacks[i].depth = depth;
	memcpy(stacks[i].pc, pc, depth * sizeof(*pc));
	stacks[i].next = *slot;
	*slot = i + 1;
	return i;
}

/* sample_find - the slot holding @p, or the empty slot that ends its run */
static uint32_t sample_find(uintptr_t p)
{
	uint32_t i = hash_ptr(p) & (NSAMPLE - 1);

	while (samples[i].p && samples[i].p != p)
		i = (i + 1) & (NSAMPLE - 1);
	return i;
}

static void filter_add(uintptr_t p, int d)
{
	_Atomic uint16_t *f = &filter[hash_ptr(p) & (NFILTER - 1)];

	/* relaxed: changed under the lock only; a reader that frees a sampled
	 * block is ordered after its insertion by the program itself */
	hak_store_relaxed(f, (uint16_t)(hak_load_relaxed(f) + d));
}

/* sample_del - remove slot @i, shifting its run back (no tombstones) */
static void sample_del(uint32_t i)
{
	struct sample *x = &samples[i];
	struct stack *s = &stacks[x->stack];
	uint32_t j = i;

	s->live_n--;
	s->live_b -= x->size;
	s->live_est -= x->est;
	filter_add(x->p, -1);
	nsamples--;
	for (;;) {
		j = (j + 1) & (NSAMPLE - 1);
		if (!samples[j].p)
			break;
		uint32_t home = hash_ptr(samples[j].p) & (NSAMPLE - 1);

		/* move j back to i unless its home lies in (i, j] */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			samples[i] = samples[j];
			i = j;
		}
	}
	samples[i].p = 0;
}

static void sample_add(uintptr_t p, uint32_t st, uint64_t size)
{
	uint32_t i = sample_find(p);
	struct stack *s = &stacks[st];

	if (samples[i].p)	/* a stale entry (its free was not seen) */
		sample_del(i), i = sample_find(p);
	samples[i] = (struct sample){ .p = p, .stack = st, .size = size,
				      .est = weight(size) };
	nsamples++;
	filter_add(p, 1);
	s->live_n++;
	s->live_b += size;
	s->live_est += samples[i].est;
	s->total_n++;
	s->total_b += size;
}

/* ---- the hooks ------------------------------------------------------------- */

static void dump_locked(bool in_signal);

static void unlock(void)
{
	hak_unlock(&lock);
	/* a SIGUSR2 that came while the lock was held: dump for it now */
	if (hak_unlikely(atomic_load_explicit(&pending, memory_order_relaxed)) &&
	    atomic_exchange_explicit(&pending, 0, memory_order_relaxed)) {
		hak_lock(&lock);
		dump_locked(false);
		hak_unlock(&lock);
	}
}

static __attribute__((noinline)) void record(uintptr_t p, uint64_t size)
{
	uintptr_t pc[MAX_DEPTH];
	unsigned depth;
	uint32_t st;

	busy = 1;
	depth = unwind(pc);
	busy = 0;
	hak_lock(&lock);
	st = stack_intern(pc, depth);
	if (st == UINT32_MAX || nsamples >= NSAMPLE / 2)
		dropped++;
	else
		sample_add(p, st, size);
	unlock();
}

void hak_prof_alloc_slow(void *p, size_t size)
{
	if (busy)
		return;
	if (hak_unlikely(!rng)) {
		/* a fixed sequence of seeds, splitmix64-scrambled (xorshift
		 * starts badly from nearby seeds): reproducible runs */
		uint64_t z = 0x9e3779b97f4a7c15ULL * (atomic_fetch_add_explicit(
				&seeds, 1, memory_order_relaxed) + 1);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		rng = (z ^ (z >> 31)) | 1;
		left = next_interval();
	}
	left -= (int64_t)size;
	if (hak_likely(left > 0))
		return;
	record((uintptr_t)p, size);
	/* after record(), not before: no tail call, so that this function's
	 * frame is on the stack for walk_frame() to find */
	left = next_interval();
}

void hak_prof_free_slow(void *p)
{
	uint32_t i;

	if (hak_likely(!hak_load_relaxed(&filter[hash_ptr((uintptr_t)p) &
						 (NFILTER - 1)])))
		return;
	hak_lock(&lock);
	i = sample_find((uintptr_t)p);
	if (samples[i].p)
		sample_del(i);
	unlock();
}

static int dump_result;			/* lock */

static void dump_locked(bool in_signal)
{
	int was_busy = busy;	/* a signal may land inside record() */

	busy = 1;
	dump_result = hak_prof_write(path, stacks, nstacks, interval,
				     in_signal);
	if (dropped)
		hak_warn("hakmem: HAKMEM_PROFILE: %lu samples dropped (tables "
			 "full)", (unsigned long)dropped);
	busy = was_busy;
}

HAK_EXPORT int hak_profile_dump(void)
{
	int r;

	hak_start();
	if (!hak_prof_on)
		return -1;
	hak_lock(&lock);
	dump_locked(false);
	r = dump_result;
	unlock();
	return r;
}

/* ---- start-up, signal, exit, fork --------------------------------------- */

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	/* counted as held while we try (hak_trylock()): a fork() from a
	 * handler that runs inside this one must not wait for it */
	if (hak_trylock(&lock)) {
		dump_locked(true);
		hak_unlock(&lock);
	} else {
		atomic_store_explicit(&pending, 1, memory_order_relaxed);
	}
	errno = saved;
	/* chain: the handler that was there before (the trace ring's) */
	hak_dbg_sig_chain(&old_usr2, sig, si, uc);
}

static _Atomic int ctor_ran;
static _Atomic int installed;

/*
 * load_unwinder - libgcc_s's unwinder, by dlopen() (RTLD_NOLOAD first: a
 * C++ program has it already), as glibc's backtrace() does: the library is
 * not linked, so that the processes that do not profile, nearly all, do not
 * load it.  Our constructor calls it, out of any malloc, once the libraries
 * we depend on have started (the sanitizers' dlopen() interceptors
 * included).  The loader's own mallocs are passed over (`busy`).  Without
 * an unwinder the profiler says so and turns off; the program runs on.
 */
static void load_unwinder(void)
{
	void *h;

	busy = 1;
	h = dlopen(LIBGCC_S, RTLD_NOW | RTLD_NOLOAD);
	if (!h)
		h = dlopen(LIBGCC_S, RTLD_NOW | RTLD_LOCAL);
	if (h) {
		*(void **)&unw_backtrace = dlsym(h, "_Unwind_Backtrace");
		*(void **)&unw_get_ip = dlsym(h, "_Unwind_GetIP");
		*(void **)&unw_region_start = dlsym(h, "_Unwind_GetRegionStart");
	}
	busy = 0;
	if (!unw_backtrace || !unw_get_ip || !unw_region_start) {
		const char *e = dlerror();

		hak_warn("hakmem: HAKMEM_PROFILE: no unwinder (%s); profiling "
			 "off", e ? e : LIBGCC_S);
		hak_prof_on = false;
		return;
	}
	/* release: walk_frame() reads the three after unwind()'s acquire */
	atomic_store_explicit(&unw_ready, 1, memory_order_release);
}

/* install - the unwinder and our SIGUSR2 handler, once start-up is over
 * (debug/trace.c says why not from inside the first malloc); from the
 * constructor only (hak_prof_init() does not turn the profiler on after it) */
static void install(void)
{
	struct sigaction sa;

	if (!atomic_load(&ctor_ran) || !hak_prof_on ||
	    atomic_exchange(&installed, 1))
		return;
	load_unwinder();
	if (!hak_prof_on)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr2;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sigaction(SIGUSR2, &sa, &old_usr2);
}

__attribute__((constructor)) static void profile_ctor(void)
{
	const char *e = getenv("HAKMEM_PROFILE");

	/* no malloc has started hakmem yet (the usual case when preloaded):
	 * start it here, so that the unwinder is loaded here, not inside the
	 * program's first malloc.  Only a hint: the option itself is read by
	 * hakmem/options.c, as every option is */
	if (e && *e)
		hak_start();
	atomic_store(&ctor_ran, 1);
	install();
}

__attribute__((destructor)) static void profile_dtor(void)
{
	if (hak_prof_on)
		hak_profile_dump();
}

/* hakmem/fork.c takes the profile lock last (it is a leaf) */
void hak_prof_fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

void hak_prof_fork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

void hak_prof_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

/* find_self - our code's range when we are a shared object: the ELF
 * header the linker gives us up to the end of the text; linked into the
 * program instead (the program's headers are ours), no range */
static void find_self(void)
{
	extern const char __ehdr_start[] __attribute__((visibility("hidden")));
	extern const char __etext[] __attribute__((visibility("hidden")));
	uintptr_t phdr = (uintptr_t)getauxval(AT_PHDR);

	if (phdr >= (uintptr_t)__ehdr_start && phdr < (uintptr_t)__etext)
		return;
	self_lo = (uintptr_t)__ehdr_start;
	self_hi = (uintptr_t)__etext;
}

void hak_prof_init(const char *file, long bytes)
{
	size_t len, at = 0;

	if (!file || !*file)
		return;
	if (atomic_load(&ctor_ran)) {
		/* HAKMEM_PROFILE was not in the environment our constructor
		 * saw: the program set it since; loading the unwinder now would
		 * mean a dlopen() inside its first malloc */
		hak_warn("hakmem: HAKMEM_PROFILE: set after start-up; "
			 "profiling off");
		return;
	}
	/* relative to the directory at start-up, not at exit */
	if (file[0] != '/' && getcwd(path, sizeof(path) - 1)) {
		at = strlen(path);
		path[at++] = '/';
	}
	len = strlen(file);
	if (at + len >= sizeof(path)) {
		hak_warn("hakmem: HAKMEM_PROFILE: file name too long; "
			 "profiling off");
		return;
	}
	stacks = hak_os_map(sizeof(*stacks) * NSTACK);
	bucket = hak_os_map(sizeof(*bucket) * NBUCKET);
	samples = hak_os_map(sizeof(*samples) * NSAMPLE);
	filter = hak_os_map(sizeof(*filter) * NFILTER);
	if (!stacks || !bucket || !samples || !filter) {
		hak_warn("hakmem: HAKMEM_PROFILE: out of memory; profiling off");
		return;
	}
	memcpy(path + at, file, len + 1);
	interval = (uint64_t)bytes;
	find_self();
	hak_prof_on = true;
}
