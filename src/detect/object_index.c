/* SPDX-License-Identifier: MIT */
/* object_index.c - see object_index.h. */
#include "detect/object_index.h"

#include <string.h>
#include <sys/mman.h>

#include "core/own_memory.h"
#include "core/vec.h"

#define SLOTS_PER_REGION (1u << (LP_OBJINDEX_REGION_SHIFT - LP_OBJINDEX_GRANULE_SHIFT))
#define REGION_BYTES ((size_t)SLOTS_PER_REGION * sizeof(uint32_t))
#define SPACE_BYTES (UINT64_C(16) << 30) /* 65536 regions: 64 GiB of heap */
/* A 4 KiB page of slots covers 1024 granules: 16 KiB of heap. */
#define SLOT_PAGE_SHIFT (12 - 2 + LP_OBJINDEX_GRANULE_SHIFT)
/* The dense form is chosen while it costs at most this many bytes of
 * slots per object (the hash table costs about 23). */
#define DENSE_BYTES_PER_OBJECT 48

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

/* The region of key, found or made (no slots yet); NULL when the table
 * is half full. */
static struct lp_objindex_region *
region_for(struct lp_objindex *ix, uintptr_t key)
{
	uint32_t i = lp_objindex_region_home(ix, key);
	for (;; i = (i + 1) & (ix->rcap - 1)) {
		struct lp_objindex_region *r = &ix->regions[i];
		if (r->key == key)
			return r;
		if (!r->key)
			break;
	}
	if (ix->rcount + 1 > ix->rcap / 2)
		return NULL;
	ix->regions[i].key = key;
	ix->rcount++;
	return &ix->regions[i];
}

/* An empty region table of cap entries (a power of 2). */
static bool
map_regions(struct lp_objindex *ix, uint32_t cap)
{
	size_t bytes = ((size_t)cap * sizeof(struct lp_objindex_region) + 4095) & ~(size_t)4095;
	if (bytes > ix->regions_mapped) {
		struct lp_objindex_region *p = lp_map_large(bytes);
		if (!p)
			return false;
		if (ix->regions)
			lp_own_munmap(ix->regions, ix->regions_mapped);
		ix->regions = p;
		ix->regions_mapped = bytes;
	} else {
		memset(ix->regions, 0, (size_t)cap * sizeof(*ix->regions));
	}
	ix->rcap = cap;
	ix->rcount = 0;
	return true;
}

/* Twice the room, same regions and page masks. */
static bool
grow_regions(struct lp_objindex *ix)
{
	uint32_t cap = ix->rcap;
	size_t bytes = (size_t)cap * sizeof(struct lp_objindex_region);
	struct lp_objindex_region *old = lp_map_large(bytes);
	if (!old)
		return false;
	memcpy(old, ix->regions, bytes);
	if (!map_regions(ix, cap * 2)) {
		lp_own_munmap(old, bytes);
		return false;
	}
	for (uint32_t i = 0; i < cap; i++)
		if (old[i].key)
			region_for(ix, old[i].key)->pages = old[i].pages;
	lp_own_munmap(old, bytes);
	return true;
}

/* Postcondition: every object's region is in the table with the pages of
 * slots its objects need marked; false when out of memory or when the
 * slots would not fit the reservation. */
static bool
count_pages(struct lp_objindex *ix, const uintptr_t *objs, uint32_t n, uint64_t *pages)
{
	if (!map_regions(ix, 64))
		return false;
	*pages = 0;
	for (uint32_t i = 0; i < n; i++) {
		uintptr_t key = (objs[i] >> LP_OBJINDEX_REGION_SHIFT) + 1;
		struct lp_objindex_region *r;
		while (!(r = region_for(ix, key)))
			if ((size_t)ix->rcount * REGION_BYTES >= SPACE_BYTES || !grow_regions(ix))
				return false;
		uint64_t bit = UINT64_C(1) << (granule_of(objs[i]) >> (SLOT_PAGE_SHIFT - LP_OBJINDEX_GRANULE_SHIFT));
		*pages += !(r->pages & bit);
		r->pages |= bit;
	}
	return (size_t)ix->rcount * REGION_BYTES <= SPACE_BYTES;
}

bool
lp_objindex_build(struct lp_objindex *ix, const uintptr_t *objs, uint32_t n)
{
	bool aligned = true;
	for (uint32_t i = 0; i < n; i++)
		aligned &= (objs[i] & ((1u << LP_OBJINDEX_GRANULE_SHIFT) - 1)) == 0;
	ix->keys = objs;
	ix->n = n;
	uint64_t pages;
	if (!aligned || !count_pages(ix, objs, n, &pages) ||
	    pages * 4096 > (uint64_t)n * DENSE_BYTES_PER_OBJECT)
		goto sparse;
	if (!ix->space) {
		void *p = lp_own_mmap(NULL, SPACE_BYTES, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			goto sparse;
		ix->space = p;
	}
	/* Every region gets its slots; only the marked pages are touched. */
	ix->space_used = 0;
	for (uint32_t i = 0; i < ix->rcap; i++) {
		if (!ix->regions[i].key)
			continue;
		ix->regions[i].slots = (uint32_t *)(ix->space + ix->space_used);
		ix->space_used += REGION_BYTES;
	}
	ix->dense = true;
	for (uint32_t i = 0; i < n; i++) {
		const struct lp_objindex_region *r = lp_objindex_region_of(ix, objs[i]);
		uint32_t *slot = &r->slots[granule_of(objs[i])];
		if (!*slot)
			*slot = i + 1;
	}
	return true;
sparse:
	if (ix->regions)
		memset(ix->regions, 0, (size_t)ix->rcap * sizeof(*ix->regions));
	ix->rcount = 0;
	return build_sparse(ix, objs, n);
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
		ix->space_used = 0;
	}
	if (ix->regions)
		memset(ix->regions, 0, (size_t)ix->rcap * sizeof(*ix->regions));
	ix->rcount = 0;
	lp_addrmap_clear(&ix->map);
	ix->dense = false;
	ix->keys = NULL;
	ix->n = 0;
}

void
lp_objindex_free(struct lp_objindex *ix)
{
	if (ix->space)
		lp_own_munmap(ix->space, SPACE_BYTES);
	if (ix->regions)
		lp_own_munmap(ix->regions, ix->regions_mapped);
	lp_addrmap_free(&ix->map);
	memset(ix, 0, sizeof(*ix));
}
