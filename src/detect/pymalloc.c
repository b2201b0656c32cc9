/* SPDX-License-Identifier: MIT */
/* pymalloc.c - see pymalloc.h. */
#include "detect/pymalloc.h"

#include <string.h>

#define ALIGNMENT 16u
#define SIZE_CLASSES 32u   /* blocks up to 512 bytes */
#define HEADER_BYTES 48u   /* sizeof(struct pool_header), 16-aligned */
#define MAX_BLOCKS ((16384u - HEADER_BYTES) / ALIGNMENT)

/* Objects/obmalloc.c's struct pool_header (64-bit). */
struct pool_header {
	union {
		void *padding;
		uint32_t count; /* blocks in use */
	} ref;
	uintptr_t freeblock; /* first free block; each holds the next */
	uintptr_t nextpool, prevpool;
	uint32_t arenaindex, szidx, nextoffset, maxnextoffset;
};

size_t
lp_pymalloc_pool_size(int minor)
{
	if (sizeof(void *) != 8)
		return 0;
	return minor >= 10 && minor <= 13 ? 16384 : minor >= 8 && minor <= 9 ? 4096 : 0;
}

bool
lp_pymalloc_pool_live(uintptr_t pool, size_t pool_size,
		      void (*live)(uintptr_t lo, uintptr_t hi, void *ctx), void *ctx)
{
	const struct pool_header *h = (const struct pool_header *)pool;
	if (h->szidx >= SIZE_CLASSES)
		return false;
	uint32_t size = (h->szidx + 1) * ALIGNMENT;
	uint32_t capacity = (uint32_t)((pool_size - HEADER_BYTES) / size);
	if (h->maxnextoffset != pool_size - size || h->nextoffset < HEADER_BYTES ||
	    h->nextoffset > h->maxnextoffset + size || (h->nextoffset - HEADER_BYTES) % size ||
	    h->ref.count > capacity)
		return false;
	/* The blocks ever handed out: up to nextoffset; the free ones among
	 * them from the free list (a list that leaves the pool, or is longer
	 * than the pool, is not pymalloc's: nothing is taken as free). */
	uint32_t used = (h->nextoffset - HEADER_BYTES) / size;
	uint8_t is_free[MAX_BLOCKS / 8 + 1];
	memset(is_free, 0, sizeof(is_free));
	uint32_t nfree = 0;
	for (uintptr_t b = h->freeblock; b; b = *(const uintptr_t *)b) {
		if (b < pool + HEADER_BYTES || (b - pool - HEADER_BYTES) % size ||
		    (b - pool - HEADER_BYTES) / size >= used || ++nfree > used)
			return false;
		uint32_t i = (uint32_t)((b - pool - HEADER_BYTES) / size);
		is_free[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	/* An empty pool's blocks are all free (its list may be stale). */
	bool empty = h->ref.count == 0;
	uintptr_t run = pool, run_end = pool + HEADER_BYTES;
	for (uint32_t i = 0; i < used && !empty; i++) {
		uintptr_t b = pool + HEADER_BYTES + (uintptr_t)i * size;
		if (is_free[i / 8] & (1u << (i % 8)))
			continue;
		if (b != run_end) {
			live(run, run_end, ctx);
			run = b;
		}
		run_end = b + size;
	}
	live(run, run_end, ctx);
	return true;
}
