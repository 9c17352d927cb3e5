// SPDX-License-Identifier: MIT
/*
 * cache_scratch.c - passive false sharing: each thread starts by freeing
 * a small object the main thread allocated next to the other threads'
 * objects; does the allocator hand that memory back to the thread (and
 * keep the sharing) or give it a line of its own?
 *
 *   cache_scratch [--smoke] [SCALE [THREADS]]      (THREADS default 2)
 *
 * See false_sharing.h for the loop and the output line.
 */
#include "false_sharing.h"

int main(int argc, char **argv)
{
	return fs_main(argc, argv, "cache_scratch", 1);
}
