/* SPDX-License-Identifier: MIT */
/*
 * tests/hak_api_names.h - make a C test or benchmark call hakmem through
 * its hak_* names instead of the libc malloc family.
 *
 * Flavours whose sanitizer owns malloc (tsan: HAK_OVERRIDE=0) export no libc
 * names, so the Makefile compiles their programs with
 *
 *	-include tests/hak_api_names.h -DHAK_TEST_API_ONLY=1
 *
 * and every malloc/free/... in the program (and in the system headers'
 * declarations, which become compatible redeclarations of the hak_*
 * functions) resolves to hakmem.  Functions hakmem offers only under libc
 * names (valloc, pvalloc, cfree, malloc_trim, malloc_stats, mallinfo*, C++
 * new/delete) keep their libc meaning: tests skip what needs them when
 * HAK_TEST_API_ONLY is set.
 *
 * The macros are object-like so that taking an address (`f = malloc`) also
 * gets hakmem's.  The system headers that declare the family are included
 * first, under _GNU_SOURCE as every program here asks for, so that later
 * includes of them are no-ops and nothing else is renamed.
 */
#ifndef HAK_TESTS_API_NAMES_H
#define HAK_TESTS_API_NAMES_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <malloc.h>
#include <stdlib.h>

#include "hakmem.h"

#define malloc			hak_malloc
#define free			hak_free
#define calloc			hak_calloc
#define realloc			hak_realloc
#define reallocarray		hak_reallocarray
#define posix_memalign		hak_posix_memalign
#define aligned_alloc		hak_aligned_alloc
#define memalign		hak_memalign
#define malloc_usable_size	hak_usable_size

#endif /* HAK_TESTS_API_NAMES_H */
