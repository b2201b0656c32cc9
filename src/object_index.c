/* SPDX-License-Identifier: MIT */
/* object_index.c - see object_index.h. */
#include "object_index.h"

#include <string.h>
#include <sys/mman.h>

#include "vec.h"

#define SLOTS_PER_REGION (1u << (LP_OBJINDEX_REGION_SHIFT - LP_OBJINDEX_GRANULE_SHIFT))
#define REGION_BYTES ((size_t)SLOTS_PER_REGION * sizeof(uint32_t))
#define SPACE_BYTES (UINT64_C(16) << 30) /* 65536 regions: 64 GiB of heap */
/* A 4 KiB page of slots covers 1024 granules: 16 KiB of heap. */
#define SLOT_PAGE_SHIFT (12 - 2 + LP_OBJINDEX_GRANULE_SHIFT)
/* The dense form is chosen while it costs at most this many bytes of
 * slots per object (the hash table costs about 23). */
#define DENSE_BYTES_PER_OBJECT 32

static uint32_t
granule_of(uintptr_t addr)
{
	return (uint32_t)(addr >> LP_OBJINDEX_GRANULE_SHIFT) & (SLOTS_PER_REGION - 1);
}

static bool
build_sparse(struct lp_objindex *ix, const uintptr_t *objs, uint32_t n)
{
	ix->dense = false;
	lp_addrmap_clear(&ix->map);
	if (!lp_addrmap_reserve(&ix->map, n))
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (!lp_addrmap_find(&ix->map, objs[i]))
			lp_addrmap_insert_new(&ix->map, objs[i])->value = i;
	return true;
}

static struct lp_objindex_region *
region_for(struct lp_objindex *ix, uintptr_t addr)
{
	uintptr_t key = (addr >> LP_OBJINDEX_REGION_SHIFT) + 1;
	uint32_t i = lp_objindex_region_home(ix, key);
	for (;; i = (i + 1) & (ix->rcap - 1)) {
		struct lp_objindex_region *r = &ix->regions[i];
		if (r->key == key)
			return r;
		if (!r->key)
			break;
	}
	if (ix->rcount + 1 > ix->rcap / 2 || ix->space_used + REGION_BYTES > SPACE_BYTES)
		return NULL;
	struct lp_objindex_region *r = &ix->regions[i];
	r->key = key;
	r->slots = (uint32_t *)(ix->space + ix->space_used);
	ix->space_used += REGION_BYTES;
	ix->rcount++;
	return r;
}

/* Room for nregions regions in the region table, which is empty. */
static bool
reserve_regions(struct lp_objindex *ix, uint32_t nregions)
{
	uint32_t cap = 64;
	while (cap < 2 * nregions + 2)
		cap *= 2;
	size_t bytes = ((size_t)cap * sizeof(struct lp_objindex_region) + 4095) & ~(size_t)4095;
	if (bytes > ix->regions_mapped) {
		if (ix->regions)
			munmap(ix->regions, ix->regions_mapped);
		ix->regions = lp_map_large(bytes);
		ix->regions_mapped = ix->regions ? bytes : 0;
		if (!ix->regions)
			return false;
	}
	ix->rcap = cap;
	return true;
}

bool
lp_objindex_build(struct lp_objindex *ix, const uintptr_t *objs, uint32_t n)
{
	/* How much the dense form would touch: changes of 16 KiB block
	 * and of region along objs (exact for a set in address order, more
	 * otherwise, which errs towards the hash table). */
	uint64_t pages = 0, regions = 0;
	uintptr_t last_page = 0, last_region = 0;
	bool aligned = true;
	for (uint32_t i = 0; i < n; i++) {
		uintptr_t a = objs[i];
		aligned &= (a & ((1u << LP_OBJINDEX_GRANULE_SHIFT) - 1)) == 0;
		pages += (a >> SLOT_PAGE_SHIFT) != last_page;
		regions += (a >> LP_OBJINDEX_REGION_SHIFT) != last_region;
		last_page = a >> SLOT_PAGE_SHIFT;
		last_region = a >> LP_OBJINDEX_REGION_SHIFT;
	}
	ix->keys = objs;
	ix->n = n;
	if (!aligned || pages * 4096 > (uint64_t)n * DENSE_BYTES_PER_OBJECT || regions > UINT32_MAX / 4)
		return build_sparse(ix, objs, n);
	if (!ix->space) {
		void *p = mmap(NULL, SPACE_BYTES, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return build_sparse(ix, objs, n);
		ix->space = p;
	}
	if (!reserve_regions(ix, (uint32_t)regions))
		return build_sparse(ix, objs, n);
	ix->dense = true;
	for (uint32_t i = 0; i < n; i++) {
		struct lp_objindex_region *r = region_for(ix, objs[i]);
		if (!r) {
			/* More regions than counted cannot happen; out of
			 * reservation can: the hash table then. */
			lp_objindex_clear(ix);
			ix->keys = objs;
			ix->n = n;
			return build_sparse(ix, objs, n);
		}
		uint32_t *slot = &r->slots[granule_of(objs[i])];
		if (!*slot)
			*slot = i + 1;
	}
	return true;
}

void
lp_objindex_clear(struct lp_objindex *ix)
{
	if (ix->dense) {
		/* Zero the slots written, not the pages: they stay mapped and
		 * warm for the next pass. */
		for (uint32_t i = 0; i < ix->n; i++) {
			const struct lp_objindex_region *r = lp_objindex_region_of(ix, ix->keys[i]);
			if (r)
				r->slots[granule_of(ix->keys[i])] = 0;
		}
		memset(ix->regions, 0, (size_t)ix->rcap * sizeof(*ix->regions));
		ix->rcount = 0;
		ix->space_used = 0;
	}
	lp_addrmap_clear(&ix->map);
	ix->dense = false;
	ix->keys = NULL;
	ix->n = 0;
}

void
lp_objindex_free(struct lp_objindex *ix)
{
	if (ix->space)
		munmap(ix->space, SPACE_BYTES);
	if (ix->regions)
		munmap(ix->regions, ix->regions_mapped);
	lp_addrmap_free(&ix->map);
	memset(ix, 0, sizeof(*ix));
}
