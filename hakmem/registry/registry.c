// SPDX-License-Identifier: MIT
/*
 * registry/registry.c - the region byte map.  Writers are the boxes that
 * map and unmap regions (superslab/, large/), always for a region they
 * exclusively own at that moment; readers are any thread.
 */
#include "registry/registry.h"

/*
 * A common symbol: the linker places those after every object's .bss, so
 * the library's small variables lie together before the map instead of on
 * both sides of it (one resident page more).  Not HAK_LBSS: the linker
 * turns no GOT load of a symbol in .lbss into a lea, and free() would
 * load the map's address.
 */
_Atomic uint8_t hak_reg_map[HAK_REG_ENTRIES] __attribute__((common));

void hak_reg_set(uintptr_t region_start, uint8_t kind)
{
	HAK_ASSERT((region_start & (HAK_REG_SIZE - 1)) == 0);
	HAK_ASSERT((region_start >> HAK_REG_SHIFT) < HAK_REG_ENTRIES);
	/* release: the region's header is initialised before it is published */
	atomic_store_explicit(&hak_reg_map[region_start >> HAK_REG_SHIFT], kind,
			      memory_order_release);
}

void hak_reg_clear(uintptr_t region_start)
{
	HAK_ASSERT((region_start & (HAK_REG_SIZE - 1)) == 0);
	/* release: harmless either way; a reader racing a retire is a bug */
	atomic_store_explicit(&hak_reg_map[region_start >> HAK_REG_SHIFT], 0,
			      memory_order_release);
}
