// SPDX-License-Identifier: MIT
/*
 * hard_double_free.c MODE - a double free that is not at the head of the
 * free list, release hardening (issue 13).
 *
 *   aba      free(a); free(b); free(a)
 *   gap19    free(a), 19 other frees, free(a)
 *   realloc  free(a); realloc(a, same size)
 *
 * Before the fix only a double free of the list head was caught: the block
 * was later handed out twice, which the program shows before it exits 0.
 */
#include "neg.h"

#define N 21

static void *volatile again;

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "aba";
	void *b[N], *x, *y;
	int between = !strcmp(mode, "gap19") ? 19 : 1;

	for (int i = 0; i < N; i++)
		b[i] = malloc(48);
	neg_prove("hard_double_free", b[0]);
	again = b[0];
	free(b[0]);
	if (!strcmp(mode, "realloc")) {
		neg_say("negative: hard_double_free: realloc(%p) after free\n",
			again);
		x = realloc(again, 48);		/* the bug */
		y = malloc(48);
		neg_say("negative: hard_double_free: NOT CAUGHT: realloc "
			"gave %p, malloc %p\n", x, y);
		return 0;
	}
	for (int i = 1; i <= between; i++)
		free(b[i]);
	neg_say("negative: hard_double_free: freeing %p again after %d "
		"other frees\n", again, between);
	free(again);		/* the bug */
	for (int i = 0; i < N + 2; i++) {
		x = malloc(48);
		if (x == again && i) {
			neg_say("negative: hard_double_free: NOT CAUGHT: %p "
				"handed out twice\n", x);
			return 0;
		}
	}
	neg_say("negative: hard_double_free: NOT CAUGHT\n");
	return 0;
}
