/* SPDX-License-Identifier: MIT */
/*
 * object_index.h - object address -> its position in the detector's set.
 *
 * A hash table puts neighbouring objects in unrelated slots, and every
 * probe is a cache miss.  The allocator packs containers together, and a
 * container's referents are often its neighbours, so here the slot
 * follows the address: the address space is cut in regions of 1 MiB
 * (found through a small table of regions), and a region has one 32-bit
 * slot per 16-byte granule (objects are 16-byte aligned).  Objects met in
 * address order then touch their slots in order, as CPython's collector
 * touches their GC heads.
 *
 * A region's slots take 256 KiB of address space, and memory only where
 * objects are: a 4 KiB page of slots per 16 KiB of heap holding objects.
 * The pages an index would touch are counted exactly, in any order of
 * objects (a bit per page of slots), before any is touched.  For a set
 * spread so thinly that they would cost more than a hash table, the index
 * is a hash table (addrmap.h) instead.
 *
 * Not synchronised; memory from mmap, kept for reuse (lp_objindex_clear).
 */
#pragma once

#include "core/addrmap.h"
#include "core/base.h"

#define LP_OBJINDEX_REGION_SHIFT 20
#define LP_OBJINDEX_GRANULE_SHIFT 4

struct lp_objindex_region {
	uintptr_t key; /* (address >> REGION_SHIFT) + 1; 0: empty */
	uint32_t *slots; /* position + 1 of the object at each granule */
	uint64_t pages;  /* which of the 64 pages of slots hold an object */
};

struct lp_objindex {
	bool dense;
	struct lp_objindex_region *regions; /* open addressing, rcap a power of 2 */
	uint32_t rcap, rcount;
	size_t regions_mapped;
	char *space; /* reservation the regions' slots come from */
	size_t space_used;
	struct lp_addrmap map; /* the sparse form */
	const uintptr_t *keys; /* what was indexed, to clear it */
	uint32_t n;
};

/* Index objs[0, n) (distinct, each at position i).  false: out of memory. */
bool lp_objindex_build(struct lp_objindex *ix, const uintptr_t *objs, uint32_t n) LP_HIDDEN;
/* Forget what was indexed (objs must still be the array indexed), keep
 * the memory. */
void lp_objindex_clear(struct lp_objindex *ix) LP_HIDDEN;
void lp_objindex_free(struct lp_objindex *ix) LP_HIDDEN;

static inline uint32_t
lp_objindex_region_home(const struct lp_objindex *ix, uintptr_t key)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & (ix->rcap - 1);
}

static inline const struct lp_objindex_region *
lp_objindex_region_of(const struct lp_objindex *ix, uintptr_t addr)
{
	uintptr_t key = (addr >> LP_OBJINDEX_REGION_SHIFT) + 1;
	for (uint32_t i = lp_objindex_region_home(ix, key);; i = (i + 1) & (ix->rcap - 1)) {
		const struct lp_objindex_region *r = &ix->regions[i];
		if (r->key == key)
			return r;
		if (!r->key)
			return NULL;
	}
}

/* Position of the object at addr, or -1. */
static inline int64_t
lp_objindex_find(const struct lp_objindex *ix, uintptr_t addr)
{
	if (!ix->dense) {
		const struct lp_addrmap_slot *s = addr ? lp_addrmap_find(&ix->map, addr) : NULL;
		return s ? (int64_t)s->value : -1;
	}
	if (addr & ((1u << LP_OBJINDEX_GRANULE_SHIFT) - 1) || !ix->rcap)
		return -1;
	const struct lp_objindex_region *r = lp_objindex_region_of(ix, addr);
	if (!r)
		return -1;
	uint32_t v = r->slots[(addr >> LP_OBJINDEX_GRANULE_SHIFT) &
			      ((1u << (LP_OBJINDEX_REGION_SHIFT - LP_OBJINDEX_GRANULE_SHIFT)) - 1)];
	return (int64_t)v - 1;
}

/* Where lp_objindex_find(addr) will read, for prefetching (sparse form
 * only: the dense form's reads follow the addresses). */
static inline void
lp_objindex_prefetch(const struct lp_objindex *ix, uintptr_t addr)
{
	if (!ix->dense && ix->map.cap)
		__builtin_prefetch(lp_addrmap_home_slot(&ix->map, addr));
}
