/* SPDX-License-Identifier: MIT */
/*
 * start_index.h - where the live blocks start: the block list put in
 * address order, and the leak scan's question "which block holds this
 * address?" answered in O(1).
 *
 * Per 4 KiB chunk of memory that holds a block's start, one hash entry:
 * a bitmap of the chunk's starts (a bit per 16 bytes, or per 8 when some
 * block is only 8-byte aligned) and, per bitmap word, the address-order
 * index of the first start it holds.  So a block's index in address order
 * is its chunk's rank plus a popcount, which sorts the list in one pass
 * (no comparison sort: W1's 3.6 M blocks took 0.6-0.8 s in qsort), and a
 * lookup touches one entry, a few megabytes in all, where the block list
 * is a hundred (the scan's lookups were bound by those cache misses).
 *
 * A block that ends within the next chunk is found from either chunk;
 * one that reaches further (a "big" block) is also in a short sorted list,
 * searched when neither the address's chunk nor the one before it holds
 * a start.  Before all that, a filter of the 64 KiB regions blocks touch
 * turns most other addresses away at the cost of one bit: in a Python
 * process most words are pointers into pymalloc's arenas, no block's
 * chunk, and each took three fruitless lookups.  Memory is the shim's own (lp_own_mmap), so the scan does not
 * read it as the program's.
 */
#pragma once

#include "detect/reachability.h"

#define LP_START_CHUNK_SHIFT 12
/* The filter: a bit per 64 KiB region a block touches, hashed into 2^20
 * bits (no false negatives; W1's heap sets 0.4% of them). */
#define LP_START_REGION_SHIFT 16
#define LP_START_FILTER_BITS 20

struct lp_start_index {
	unsigned granule_shift; /* 4, or 3 */
	unsigned words;         /* bitmap words per chunk */
	size_t stride;          /* bytes per entry: a cache line, or two */
	size_t mask;            /* hash slots - 1 */
	unsigned hash_shift;    /* 64 - log2(slots) */
	size_t used;
	char *slots;
	size_t slots_bytes;
	uint32_t *big; /* address-order indexes of the big blocks */
	size_t nbig, big_bytes;
	uint64_t *filter; /* LP_START_FILTER_BITS bits */
};

/* Sorts b[0, n) by ptr (non-overlapping blocks, n <= UINT32_MAX) and
 * builds the index over it.  False when it cannot (memory, or a block
 * start not 8-byte aligned): then b is sorted all the same
 * (lp_block_sort) and the caller goes without an index. */
bool lp_start_index_build(struct lp_start_index *x, struct lp_reach_block *b, size_t n) LP_HIDDEN;
void lp_start_index_free(struct lp_start_index *x) LP_HIDDEN;

/* An entry: the chunk number + 1 (0: an empty slot), then words ranks,
 * then words bitmap words. */
static inline uint64_t *
lp_start_entry_bits(const struct lp_start_index *x, char *e)
{
	return (uint64_t *)(e + 8 + 4 * (size_t)x->words);
}

static inline size_t
lp_start_home(const struct lp_start_index *x, uintptr_t chunk)
{
	return (size_t)((chunk * 0x9E3779B97F4A7C15ull) >> x->hash_shift);
}

static inline size_t
lp_start_filter_bit(uintptr_t a)
{
	return (size_t)(((a >> LP_START_REGION_SHIFT) * 0x9E3779B97F4A7C15ull) >>
			(64 - LP_START_FILTER_BITS));
}

/* False when no block can hold a (a 64 KiB region none touches). */
static inline bool
lp_start_maybe(const struct lp_start_index *x, uintptr_t a)
{
	size_t bit = lp_start_filter_bit(a);
	return (x->filter[bit >> 6] >> (bit & 63)) & 1;
}

/* The entry address a is looked up at, asked for ahead of the lookup. */
static inline void
lp_start_prefetch(const struct lp_start_index *x, uintptr_t a)
{
	__builtin_prefetch(x->slots + lp_start_home(x, a >> LP_START_CHUNK_SHIFT) * x->stride);
}

static inline __attribute__((always_inline)) char *
lp_start_lookup(const struct lp_start_index *x, uintptr_t chunk)
{
	for (size_t s = lp_start_home(x, chunk);; s = (s + 1) & x->mask) {
		char *e = x->slots + s * x->stride;
		uintptr_t key = *(const uintptr_t *)e;
		if (key == chunk + 1)
			return e;
		if (!key)
			return NULL;
	}
}

/* The address-order index of the last block starting at or below a, or
 * -1 when none can hold a (a is then outside every block; the caller
 * still checks that a lies within the block returned).  *start: that
 * block's start when the bitmap gives it (the start lies in a's bitmap
 * word), else 0: then only the block's record says. */
static inline __attribute__((always_inline)) intptr_t
lp_start_at_or_below(const struct lp_start_index *x, const struct lp_reach_block *b,
		     uintptr_t a, uintptr_t *start)
{
	uintptr_t chunk = a >> LP_START_CHUNK_SHIFT;
	char *e = lp_start_lookup(x, chunk);
	*start = 0;
	if (e) {
		unsigned bit = (unsigned)((a & ((1u << LP_START_CHUNK_SHIFT) - 1)) >> x->granule_shift);
		unsigned w = bit >> 6;
		uint64_t m = lp_start_entry_bits(x, e)[w] & (~0ull >> (63 - (bit & 63)));
		uint32_t rank = ((const uint32_t *)(e + 8))[w];
		if (!m) /* no start in this word at or below a: the one before the word */
			return (intptr_t)rank - 1;
		unsigned top = 63u - (unsigned)__builtin_clzll(m);
		*start = (chunk << LP_START_CHUNK_SHIFT) + ((uintptr_t)(w * 64 + top) << x->granule_shift);
		return (intptr_t)rank + __builtin_popcountll(m) - 1;
	}
	if (chunk && (e = lp_start_lookup(x, chunk - 1))) { /* its last start */
		unsigned w = x->words - 1;
		return (intptr_t)((const uint32_t *)(e + 8))[w] +
		       __builtin_popcountll(lp_start_entry_bits(x, e)[w]) - 1;
	}
	/* Only a big block can reach this far. */
	size_t lo = 0, hi = x->nbig;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b[x->big[mid]].ptr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? (intptr_t)x->big[lo - 1] : -1;
}
