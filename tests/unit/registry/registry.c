// SPDX-License-Identifier: MIT
/*
 * unit/registry/registry.c - lookups: foreign addresses are "none", hakmem's
 * SuperSlabs and large mappings are known by kind, publish/retire work, and
 * addresses beyond the table never index out of it.
 */
#include <sys/mman.h>

#include "hakmem.h"
#include "helpers.h"
#include "registry/registry.h"
#include "superslab/superslab.h"

static int global_var;

int main(void)
{
	int local;
	void *small = malloc(100), *large = malloc(8 << 20);

	CHECK(hak_reg_kind((uintptr_t)&global_var) == HAK_REG_NONE, "global");
	CHECK(hak_reg_kind((uintptr_t)&local) == HAK_REG_NONE, "stack");
	CHECK(hak_reg_kind((uintptr_t)main) == HAK_REG_NONE, "text");
	CHECK(hak_reg_kind(0) == HAK_REG_NONE, "NULL");
	CHECK(hak_reg_kind(~(uintptr_t)0) == HAK_REG_NONE, "top of VA");
	CHECK(hak_reg_kind((uintptr_t)1 << 47) == HAK_REG_NONE, "2^47");
	CHECK(hak_reg_kind((uintptr_t)1 << 56) == HAK_REG_NONE, "2^56");

	uint8_t k = hak_reg_kind((uintptr_t)small);
	CHECK(k >= SS_MIN_SLAB_SHIFT && k <= SS_MAX_SLAB_SHIFT,
	      "small block kind %u", k);
	CHECK(hak_ss_chunk_of((uintptr_t)small)->magic == SS_MAGIC, "magic");
	uintptr_t lh = ((uintptr_t)large - 1) & ~(HAK_REG_SIZE - 1);
	CHECK(hak_reg_kind(lh) == HAK_REG_LARGE, "large kind %u",
	      hak_reg_kind(lh));

	/* publish and retire a region we own (a private 2 MiB mapping) */
	char *m = mmap(NULL, 2 * HAK_REG_SIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		t_die("mmap");
	uintptr_t r = HAK_ALIGN_UP((uintptr_t)m, HAK_REG_SIZE);
	CHECK(hak_reg_kind(r) == HAK_REG_NONE, "fresh region");
	hak_reg_set(r, 17);
	CHECK(hak_reg_kind(r) == 17, "set");
	CHECK(hak_reg_kind(r + HAK_REG_SIZE - 1) == 17, "last byte");
	CHECK(hak_reg_kind(r + HAK_REG_SIZE) == HAK_REG_NONE, "next region");
	CHECK(hak_reg_kind(r - 1) == HAK_REG_NONE, "previous region");
	hak_reg_clear(r);
	CHECK(hak_reg_kind(r) == HAK_REG_NONE, "cleared");
	munmap(m, 2 * HAK_REG_SIZE);

	/* hak_owns never dereferences foreign memory */
	CHECK(!hak_owns(&local) && !hak_owns(&global_var) && !hak_owns(NULL),
	      "hak_owns of foreign pointers");
	CHECK(hak_owns(small) && hak_owns(large), "hak_owns of ours");
	free(small);
	free(large);
	return t_result();
}
