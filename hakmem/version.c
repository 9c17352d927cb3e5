// SPDX-License-Identifier: MIT
/*
 * version.c - hak_version(): the library's version, which the Makefile's
 * HAK_VERSION line (the only place it is written) passes to this file
 * alone, so that a new version rebuilds one object.
 */
#include "hak_internal.h"
#include "hakmem.h"

#ifndef HAK_VERSION_STRING
#error "HAK_VERSION_STRING comes from the Makefile's HAK_VERSION"
#endif

HAK_EXPORT const char *hak_version(void)
{
	return HAK_VERSION_STRING;
}
