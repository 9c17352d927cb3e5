/* SPDX-License-Identifier: MIT */
/*
 * registry/registry.h - "is this address hakmem's, and what kind of region
 * is it?" in O(1), lock-free for readers.  May depend on os/ only.
 *
 * One byte per 2 MiB region of the 47-bit user address space (a 64 MiB
 * zero-initialised .bss array; only the pages that cover hakmem's regions
 * are ever touched).  A byte describes the region that STARTS there:
 *   0                    not hakmem's
 *   HAK_REG_LARGE        first region of a large mapping (header at start)
 *   16..21               a SuperSlab whose slabs span 1 << value bytes
 *
 * Publish: fully initialise the region, then hak_reg_set() (release).
 * Retire: hak_reg_clear(), then unmap.  Readers load with acquire, so a
 * reader that sees a kind also sees the header written before it.
 * Statically zero, so a lookup before initialisation (free(NULL) from a
 * libc constructor, a foreign pointer) is safe.
 */
#ifndef HAK_REGISTRY_H
#define HAK_REGISTRY_H

#include "hak_internal.h"

#define HAK_REG_SHIFT	21
#define HAK_REG_SIZE	(1UL << HAK_REG_SHIFT)
#define HAK_REG_VA_BITS	47
#define HAK_REG_ENTRIES	(1UL << (HAK_REG_VA_BITS - HAK_REG_SHIFT))

enum hak_reg_kind {
	HAK_REG_NONE = 0,
	HAK_REG_LARGE = 1,
	/* 16..21: SuperSlab with that slab shift (see superslab.h) */
};

/* registry/registry.c */
extern _Atomic uint8_t hak_reg_map[HAK_REG_ENTRIES];
void hak_reg_set(uintptr_t region_start, uint8_t kind);
void hak_reg_clear(uintptr_t region_start);

/* hak_reg_kind - kind of the region starting at addr's 2 MiB boundary. */
HAK_FAST uint8_t hak_reg_kind(uintptr_t addr)
{
	uintptr_t r = addr >> HAK_REG_SHIFT;

	if (hak_unlikely(r >= HAK_REG_ENTRIES))
		return HAK_REG_NONE;
	/* acquire: pairs with the release in hak_reg_set(); header visible */
	return atomic_load_explicit(&hak_reg_map[r], memory_order_acquire);
}

#endif /* HAK_REGISTRY_H */
