// SPDX-License-Identifier: MIT
/*
 * cache_thrash.c - active false sharing: do the small objects that
 * different threads malloc at the same time share cache lines?
 *
 *   cache_thrash [--smoke] [SCALE [THREADS]]      (THREADS default 2)
 *
 * See false_sharing.h for the loop and the output line.
 */
#include "false_sharing.h"

int main(int argc, char **argv)
{
	return fs_main(argc, argv, "cache_thrash", 0);
}
