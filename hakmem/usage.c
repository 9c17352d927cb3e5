// SPDX-License-Identifier: MIT
/*
 * usage.c - mallinfo2(): what hakmem holds, from the superslab walk, tiny's
 * slab counts and the large box's byte counts.  The fields' meanings are
 * in README.md ("mallinfo2") and man/hakmem.3.
 */
#include "api.h"

#include <malloc.h>
#include <string.h>

#include "os/os.h"

void hak_api_mallinfo2(struct mallinfo2 *mi)
{
	struct hak_ss_usage ss;
	struct hak_tiny_usage tu = { 0, 0 };
	size_t lbytes, lcached_bytes, nlive, ncached;

	hak_init();
	hak_ss_usage(&ss, hak_tiny_slab_usage, &tu);
	hak_large_bytes(&lbytes, &lcached_bytes);
	hak_large_counts(&nlive, &ncached);
	memset(mi, 0, sizeof(*mi));
	mi->arena = ss.chunks * SS_SIZE;
	mi->ordblks = ss.slabs_free + ss.empty_chunks + ncached;
	mi->smblks = ss.slabs_out;
	mi->hblks = nlive;
	mi->hblkhd = lbytes + lcached_bytes;
	mi->usmblks = hak_os_mapped_peak();
	mi->fsmblks = tu.free;
	mi->uordblks = tu.live + lbytes;
	mi->fordblks = tu.free + ss.free_bytes + lcached_bytes;
	mi->keepcost = ss.empty_chunks * SS_SIZE + lcached_bytes;
}
