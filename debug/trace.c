// SPDX-License-Identifier: MIT
/*
 * debug/trace.c - per-thread trace rings, their dump on SIGUSR2 and on
 * fatal signals, and the fail-fast report.
 *
 * A ring belongs to a heap and is written only by the thread that owns the
 * heap (through the TLS pointer hak_trace_cur); a dump may read any ring at
 * any time, so every field is a relaxed atomic and a dump racing a writer
 * shows at worst one torn event.  Rings are never freed: heaps are pooled,
 * and a reused heap keeps its ring.  Everything here is async-signal-safe:
 * no allocation, no stdio, no locks on the dump path.
 *
 * The signal handlers are installed once the libraries below us are
 * initialised, not inside the first malloc: that malloc may come from a
 * library initialised before a sanitizer runtime (libstdc++'s constructor,
 * under clang's UBSan runtime, which depends on it), and the runtime's
 * sigaction() interceptor fails ("REAL(sigaction_symname) == nullptr")
 * until the runtime's own constructor ran.  Ours runs after the
 * constructors of the libraries we depend on, the sanitizer runtimes
 * included (or after their .preinit_array, linked statically), so a
 * malloc before it only asks for the handlers and the constructor installs
 * them; a malloc after it installs them at once.
 */
#include "debug/hooks.h"
#include "debug/debug.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "os/os.h"

#define RING_N	256	/* events per ring, a power of two */

struct ev {
	_Atomic uint64_t seq_ev;	/* seq << 8 | event */
	_Atomic uint32_t cls;
	_Atomic uintptr_t ptr, aux;
};

struct hak_trace_ring {
	struct hak_trace_ring *next;	/* all rings; immutable once linked */
	_Atomic long tid;		/* current writer thread */
	_Atomic uint64_t pos;		/* events written so far */
	struct ev ev[RING_N];
};

__thread struct hak_trace_ring *hak_trace_cur HAK_TLS_IE;

static _Atomic(struct hak_trace_ring *) rings;
static _Atomic int enabled;
/* seq_cst, both: whichever of hak_trace_init() and the constructor comes
 * second sees the other's store and installs the handlers */
static _Atomic int ctor_ran;
static _Atomic int installed;	/* the handlers went in (or were tried) */

static const char *const names[HAK_EV_NR] = {
	[HAK_EV_ALLOC] = "alloc", [HAK_EV_FREE] = "free",
	[HAK_EV_REMOTE_PUSH] = "remote-push", [HAK_EV_DRAIN] = "drain",
	[HAK_EV_ADOPT] = "adopt", [HAK_EV_PUBLISH] = "publish",
	[HAK_EV_REFILL] = "refill", [HAK_EV_MAP] = "map",
	[HAK_EV_UNMAP] = "unmap",
};

void hak_trace_slow(unsigned ev, unsigned cls, const void *p, uintptr_t aux)
{
	struct hak_trace_ring *r = hak_trace_cur;
	/* relaxed: only this thread writes the ring; dumps are best effort */
	uint64_t n = hak_load_relaxed(&r->pos);
	struct ev *e = &r->ev[n & (RING_N - 1)];

	hak_store_relaxed(&e->cls, cls);
	hak_store_relaxed(&e->ptr, (uintptr_t)p);
	hak_store_relaxed(&e->aux, aux);
	hak_store_relaxed(&e->seq_ev, n << 8 | ev);
	hak_store_relaxed(&r->pos, n + 1);
}

bool hak_trace_enabled(void)
{
	return hak_load_relaxed(&enabled);
}

struct hak_trace_ring *hak_trace_ring_new(void)
{
	struct hak_trace_ring *r, *head;

	if (!hak_trace_enabled())
		return NULL;
	r = hak_os_map(HAK_ALIGN_UP(sizeof(*r), HAK_PAGE_SIZE));
	if (!r)
		return NULL;
	head = atomic_load_explicit(&rings, memory_order_relaxed);
	do {
		r->next = head;
		/* release: a dump that finds r sees it initialised */
	} while (!atomic_compare_exchange_weak_explicit(&rings, &head, r,
			memory_order_release, memory_order_relaxed));
	return r;
}

void hak_trace_bind(struct hak_trace_ring *ring)
{
	hak_trace_cur = ring;
	if (ring)
		hak_store_relaxed(&ring->tid, hak_os_thread_tid());
}

static void put(const char *s, int n)
{
	if (n > 0)
		hak_os_write_err(s, (size_t)n);
}

void hak_trace_dump(void)
{
	/* acquire: pairs with the release in hak_trace_ring_new() */
	struct hak_trace_ring *r = atomic_load_explicit(&rings,
							memory_order_acquire);
	char line[160];

	put("hakmem: trace ring dump (oldest first)\n", 39);
	for (; r; r = r->next) {
		uint64_t pos = hak_load_relaxed(&r->pos);
		uint64_t from = pos > RING_N ? pos - RING_N : 0;

		put(line, hak_snprintf(line, sizeof(line),
				       "hakmem: thread %ld: %lu events, last %lu:\n",
				       hak_load_relaxed(&r->tid),
				       (unsigned long)pos,
				       (unsigned long)(pos - from)));
		for (uint64_t i = from; i < pos; i++) {
			struct ev *e = &r->ev[i & (RING_N - 1)];
			uint64_t se = hak_load_relaxed(&e->seq_ev);
			unsigned ev = (unsigned)(se & 0xff);

			put(line, hak_snprintf(line, sizeof(line),
				"  #%-8lu %-11s class=%-2u ptr=%p aux=%lu\n",
				(unsigned long)(se >> 8),
				ev < HAK_EV_NR && names[ev] ? names[ev] : "?",
				hak_load_relaxed(&e->cls),
				(void *)hak_load_relaxed(&e->ptr),
				(unsigned long)hak_load_relaxed(&e->aux)));
		}
	}
}

void hak_dbg_sig_chain(const struct sigaction *old, int sig, siginfo_t *si,
		       void *uc)
{
	if (old->sa_flags & SA_SIGINFO) {
		if (old->sa_sigaction)
			old->sa_sigaction(sig, si, uc);
	} else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
	}
}

/* the SIGUSR2 handler before ours (the heap profiler's, or the program's) */
static struct sigaction old_usr2;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	hak_trace_dump();
	if (sig == SIGUSR2) {
		hak_dbg_sig_chain(&old_usr2, sig, si, uc);
		return;
	}
	/* fatal: default action, then re-raise (returns into the fault) */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* install - the dump handlers, once, when start-up is over (see top) */
static void install(void)
{
	static const int sigs[] = { SIGUSR2, SIGSEGV, SIGBUS, SIGABRT };
	struct sigaction sa;

	if (!atomic_load(&enabled) || !atomic_load(&ctor_ran) ||
	    atomic_exchange(&installed, 1))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NODEFER | SA_SIGINFO;
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, sigs[i] == SIGUSR2 ? &old_usr2 : NULL);
}

__attribute__((constructor)) static void trace_ctor(void)
{
	atomic_store(&ctor_ran, 1);
	install();
}

void hak_trace_init(bool on)
{
	if (!on)
		return;
	atomic_store(&enabled, 1);
	install();
}

void hak_failfast(const char *check, unsigned cls, const void *slab,
		  const void *p)
{
	char line[256];
	int n = hak_snprintf(line, sizeof(line),
			     "hakmem: failfast: %s: class=%u slab=%p ptr=%p "
			     "tid=%ld\n", check, cls, slab, p,
			     hak_os_thread_tid());

	put(line, n);
	if (hak_trace_enabled()) {
		signal(SIGABRT, SIG_DFL);	/* dumped here, not twice */
		hak_trace_dump();
	}
	__builtin_trap();
}
