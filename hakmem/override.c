// SPDX-License-Identifier: MIT
/*
 * override.c - the only file that defines libc names: the malloc family,
 * the __libc_* aliases, and the C++ new/delete operators by their mangled
 * names.  Each name inlines the same body as its hak_* twin (api.h).
 *
 * operator new: on failure call the installed new-handler and retry; with
 * no handler throw std::bad_alloc, as libstdc++ does.  Both are reached
 * through weak references to libstdc++ (std::get_new_handler,
 * std::__throw_bad_alloc), so C programs do not pull in libstdc++; this file
 * is built with -fexceptions so the exception can cross it.
 */
#include "api.h"

#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "os/os.h"

#ifndef HAK_OVERRIDE
#define HAK_OVERRIDE 1
#endif
#if HAK_OVERRIDE	/* tsan: the sanitizer owns malloc; export hak_* only */

#define EXPORT HAK_EXPORT
/* malloc and free start a cache line: their speed does not depend on the
 * size of unrelated code placed before them */
#define HAK_HOT_ALIGN __attribute__((aligned(64)))

/* libc and C++ ABI names: no C header declares most of them */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

EXPORT HAK_HOT_ALIGN void *malloc(size_t size)
{
	return hak_api_malloc(size);
}

EXPORT HAK_HOT_ALIGN void free(void *p)
{
	hak_api_free(p);
}

EXPORT void cfree(void *p)
{
	hak_api_free(p);
}

EXPORT void *calloc(size_t nmemb, size_t size)
{
	return hak_api_calloc(nmemb, size);
}

EXPORT void *realloc(void *p, size_t size)
{
	return hak_api_realloc(p, size);
}

EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	return hak_api_reallocarray(p, nmemb, size);
}

EXPORT int posix_memalign(void **memptr, size_t align, size_t size)
{
	return hak_api_posix_memalign(memptr, align, size);
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return hak_api_aligned_alloc(align, size);
}

EXPORT void *memalign(size_t align, size_t size)
{
	return hak_api_memalign(align, size);
}

EXPORT void *valloc(size_t size)
{
	return hak_api_valloc(size);
}

EXPORT void *pvalloc(size_t size)
{
	return hak_api_pvalloc(size);
}

EXPORT size_t malloc_usable_size(void *p)
{
	return hak_api_usable_size(p);
}

/* C23 sized frees: the size is only a hint here */
EXPORT void free_sized(void *p, size_t size)
{
	(void)size;
	hak_api_free(p);
}

EXPORT void free_aligned_sized(void *p, size_t align, size_t size)
{
	(void)align;
	(void)size;
	hak_api_free(p);
}

EXPORT int malloc_trim(size_t pad)
{
	return hak_trim(pad);
}

/* glibc disables cancellation around malloc_stats: write(2) is a
 * cancellation point, and a pending cancel would cut the table short */
EXPORT void malloc_stats(void)
{
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	hak_api_stats_print();
	pthread_setcancelstate(old, NULL);
}

EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 mi;

	hak_api_mallinfo2(&mi);
	return mi;
}

static int clamp_int(size_t v)
{
	return v > INT_MAX ? INT_MAX : (int)v;
}

/* mallinfo - the same figures clamped to int (glibc wraps them instead) */
EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;

	mi.arena = clamp_int(m2.arena);
	mi.ordblks = clamp_int(m2.ordblks);
	mi.smblks = clamp_int(m2.smblks);
	mi.hblks = clamp_int(m2.hblks);
	mi.hblkhd = clamp_int(m2.hblkhd);
	mi.usmblks = clamp_int(m2.usmblks);
	mi.fsmblks = clamp_int(m2.fsmblks);
	mi.uordblks = clamp_int(m2.uordblks);
	mi.fordblks = clamp_int(m2.fordblks);
	mi.keepcost = clamp_int(m2.keepcost);
	return mi;
}

/* glibc's internal names, used by some programs and by libc itself */
EXPORT void *__libc_malloc(size_t size)
{
	return malloc(size);
}

EXPORT void __libc_free(void *p)
{
	hak_api_free(p);
}

EXPORT void *__libc_calloc(size_t nmemb, size_t size)
{
	return hak_api_calloc(nmemb, size);
}

EXPORT void *__libc_realloc(void *p, size_t size)
{
	return hak_api_realloc(p, size);
}

EXPORT void *__libc_memalign(size_t align, size_t size)
{
	return hak_api_memalign(align, size);
}

EXPORT void *__libc_valloc(size_t size)
{
	return hak_api_valloc(size);
}

EXPORT void *__libc_pvalloc(size_t size)
{
	return hak_api_pvalloc(size);
}

EXPORT int __posix_memalign(void **memptr, size_t align, size_t size)
{
	return hak_api_posix_memalign(memptr, align, size);
}

/* ---- C++ ------------------------------------------------------------------ */

typedef void (*new_handler_fn)(void);
/* std::get_new_handler() and std::__throw_bad_alloc(), if libstdc++ is in */
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static HAK_SLOW void *new_failed(size_t size, size_t align, bool nothrow)
{
	for (;;) {
		new_handler_fn h = _ZSt15get_new_handlerv ?
				   _ZSt15get_new_handlerv() : NULL;
		void *p;

		if (!h) {
			if (nothrow)
				return NULL;
			if (_ZSt17__throw_bad_allocv)
				_ZSt17__throw_bad_allocv();
			hak_fatal("hakmem: operator new(%zu): out of memory",
				  size);
		}
		h();
		p = align ? hak_api_aligned(align, size) : hak_api_malloc(size);
		if (p)
			return p;
	}
}

HAK_FAST void *cxx_new(size_t size)
{
	void *p = hak_api_malloc(size);

	if (hak_likely(p))
		return p;
	return new_failed(size, 0, false);
}

HAK_FAST void *cxx_new_nothrow(size_t size)
{
	void *p = hak_api_malloc(size);

	if (hak_likely(p))
		return p;
	return new_failed(size, 0, true);
}

static void *cxx_new_aligned(size_t size, size_t align, bool nothrow)
{
	void *p = HAK_IS_POW2(align) ? hak_api_aligned(align, size) : NULL;

	if (hak_likely(p))
		return p;
	if (!HAK_IS_POW2(align)) {
		if (nothrow)
			return NULL;
		if (_ZSt17__throw_bad_allocv)
			_ZSt17__throw_bad_allocv();
		hak_fatal("hakmem: operator new: bad alignment %zu", align);
	}
	return new_failed(size, align, nothrow);
}

/* operator new(size_t), new[](size_t) */
EXPORT void *_Znwm(size_t size) { return cxx_new(size); }
EXPORT void *_Znam(size_t size) { return cxx_new(size); }
/* operator new(size_t, nothrow_t const&), new[] */
EXPORT void *_ZnwmRKSt9nothrow_t(size_t size, const void *nt)
{ (void)nt; return cxx_new_nothrow(size); }
EXPORT void *_ZnamRKSt9nothrow_t(size_t size, const void *nt)
{ (void)nt; return cxx_new_nothrow(size); }
/* operator new(size_t, align_val_t), new[], and nothrow forms */
EXPORT void *_ZnwmSt11align_val_t(size_t size, size_t al)
{ return cxx_new_aligned(size, al, false); }
EXPORT void *_ZnamSt11align_val_t(size_t size, size_t al)
{ return cxx_new_aligned(size, al, false); }
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t size, size_t al,
						 const void *nt)
{ (void)nt; return cxx_new_aligned(size, al, true); }
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t size, size_t al,
						 const void *nt)
{ (void)nt; return cxx_new_aligned(size, al, true); }

/* operator delete: plain, array, sized, nothrow, aligned */
EXPORT void _ZdlPv(void *p) { hak_api_free(p); }
EXPORT void _ZdaPv(void *p) { hak_api_free(p); }
EXPORT void _ZdlPvm(void *p, size_t sz) { (void)sz; hak_api_free(p); }
EXPORT void _ZdaPvm(void *p, size_t sz) { (void)sz; hak_api_free(p); }
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{ (void)nt; hak_api_free(p); }
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{ (void)nt; hak_api_free(p); }
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al)
{ (void)al; hak_api_free(p); }
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al)
{ (void)al; hak_api_free(p); }
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t sz, size_t al)
{ (void)sz; (void)al; hak_api_free(p); }
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t sz, size_t al)
{ (void)sz; (void)al; hak_api_free(p); }
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al,
						 const void *nt)
{ (void)al; (void)nt; hak_api_free(p); }
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t al,
						 const void *nt)
{ (void)al; (void)nt; hak_api_free(p); }

#endif /* HAK_OVERRIDE */
