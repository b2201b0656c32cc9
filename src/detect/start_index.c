/* SPDX-License-Identifier: MIT */
/* start_index.c - see start_index.h. */
#include "detect/start_index.h"

#include <string.h>
#include <sys/mman.h>

#include "detect/block_sort.h"

#define CHUNK ((uintptr_t)1 << LP_START_CHUNK_SHIFT)
#define FILTER_BYTES (((size_t)1 << LP_START_FILTER_BITS) / 8)

/* Populated at once: every page is written soon, and one call faults them
 * in faster than a fault per page. */
static void *
map(size_t bytes)
{
	void *p = lp_own_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static size_t
page_round(size_t bytes)
{
	return (bytes + 4095) & ~(size_t)4095;
}

/* An empty table of 2^bits slots. */
static bool
make_table(struct lp_start_index *x, unsigned bits)
{
	size_t bytes = page_round(((size_t)1 << bits) * x->stride);
	char *s = map(bytes);
	if (!s)
		return false;
	x->slots = s;
	x->slots_bytes = bytes;
	x->mask = ((size_t)1 << bits) - 1;
	x->hash_shift = 64 - bits;
	x->used = 0;
	return true;
}

static char *
insert(struct lp_start_index *x, uintptr_t chunk)
{
	for (size_t s = lp_start_home(x, chunk);; s = (s + 1) & x->mask) {
		char *e = x->slots + s * x->stride;
		uintptr_t key = *(uintptr_t *)e;
		if (key == chunk + 1)
			return e;
		if (!key) {
			*(uintptr_t *)e = chunk + 1;
			x->used++;
			return e;
		}
	}
}

/* Twice the slots, the entries moved over: the table stays at most half
 * full, so a lookup of an absent chunk ends soon. */
static bool
grow(struct lp_start_index *x)
{
	struct lp_start_index old = *x;
	if (!make_table(x, 64 - old.hash_shift + 1)) {
		*x = old;
		return false;
	}
	for (size_t s = 0; s <= old.mask; s++) {
		char *e = old.slots + s * old.stride;
		uintptr_t key = *(uintptr_t *)e;
		if (key)
			memcpy(insert(x, key - 1), e, x->stride);
	}
	lp_own_munmap(old.slots, old.slots_bytes);
	return true;
}

static bool
is_big(const struct lp_reach_block *b)
{
	return (b->ptr & (CHUNK - 1)) + b->size > 2 * CHUNK;
}

/* Every entry's ranks, chunks taken in address order. */
static bool
rank_chunks(struct lp_start_index *x)
{
	size_t bytes = page_round(x->used * sizeof(struct lp_reach_block));
	struct lp_reach_block *order = map(bytes);
	if (!order)
		return false;
	size_t m = 0;
	for (size_t s = 0; s <= x->mask; s++) {
		uintptr_t key = *(uintptr_t *)(x->slots + s * x->stride);
		if (key)
			order[m++] = (struct lp_reach_block){ .ptr = key - 1, .tag = (uint32_t)s };
	}
	lp_block_sort(order, m);
	uint32_t running = 0;
	for (size_t k = 0; k < m; k++) {
		char *e = x->slots + order[k].tag * x->stride;
		uint32_t *rank = (uint32_t *)(e + 8);
		const uint64_t *bits = lp_start_entry_bits(x, e);
		for (unsigned w = 0; w < x->words; w++) {
			rank[w] = running;
			running += (uint32_t)__builtin_popcountll(bits[w]);
		}
	}
	lp_own_munmap(order, bytes);
	return true;
}

/* The position a block's start has in address order. */
static size_t
position(const struct lp_start_index *x, uintptr_t ptr)
{
	char *e = lp_start_lookup(x, ptr >> LP_START_CHUNK_SHIFT);
	unsigned bit = (unsigned)((ptr & (CHUNK - 1)) >> x->granule_shift);
	uint64_t below = lp_start_entry_bits(x, e)[bit >> 6] & ((1ull << (bit & 63)) - 1);
	return ((const uint32_t *)(e + 8))[bit >> 6] + (size_t)__builtin_popcountll(below);
}

/* Phase 1: a start bit per block (two blocks never share one: their
 * starts are at least a granule apart; a bit set twice is a block listed
 * twice, which the sort would hide and the placement would lose). */
static bool
note_starts(struct lp_start_index *x, const struct lp_reach_block *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (x->used * 2 >= x->mask && !grow(x))
			return false;
		char *e = insert(x, b[i].ptr >> LP_START_CHUNK_SHIFT);
		unsigned bit = (unsigned)((b[i].ptr & (CHUNK - 1)) >> x->granule_shift);
		uint64_t *word = &lp_start_entry_bits(x, e)[bit >> 6];
		if (*word & (1ull << (bit & 63)))
			return false; /* a block listed twice */
		*word |= 1ull << (bit & 63);
		x->nbig += is_big(&b[i]);
		uintptr_t last = b[i].ptr + (b[i].size ? b[i].size - 1 : 0);
		for (uintptr_t r = b[i].ptr >> LP_START_REGION_SHIFT;
		     r <= last >> LP_START_REGION_SHIFT; r++) {
			size_t f = lp_start_filter_bit(r << LP_START_REGION_SHIFT);
			x->filter[f >> 6] |= 1ull << (f & 63);
		}
	}
	return true;
}

/* Phase 3: every block moved to its position (through a copy), the big
 * ones listed.  Post: b sorted by ptr, x->big[k] ascending. */
static bool
place_blocks(struct lp_start_index *x, struct lp_reach_block *b, size_t n)
{
	size_t bytes = page_round(n * sizeof(*b));
	struct lp_reach_block *copy = map(bytes);
	x->big_bytes = page_round(x->nbig * sizeof(uint32_t) + 1);
	x->big = map(x->big_bytes);
	if (!copy || !x->big) {
		if (copy)
			lp_own_munmap(copy, bytes);
		return false;
	}
	memcpy(copy, b, n * sizeof(*b));
	for (size_t i = 0; i < n; i++)
		b[position(x, copy[i].ptr)] = copy[i];
	lp_own_munmap(copy, bytes);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (is_big(&b[i]))
			x->big[k++] = (uint32_t)i;
	return true;
}

bool
lp_start_index_build(struct lp_start_index *x, struct lp_reach_block *b, size_t n)
{
	memset(x, 0, sizeof(*x));
	uintptr_t any = 0;
	for (size_t i = 0; i < n; i++)
		any |= b[i].ptr;
	bool ok = n && !(any & 7);
	if (ok) {
		x->granule_shift = (any & 15) ? 3 : 4;
		x->words = (unsigned)((CHUNK >> x->granule_shift) / 64);
		x->stride = (8 + x->words * (4 + 8) + 63) & ~(size_t)63;
		unsigned bits = 10; /* a dense heap: ~50 blocks per chunk, grown as needed */
		while (bits < 31 && ((size_t)1 << bits) < n / 32)
			bits++;
		x->filter = map(FILTER_BYTES);
		ok = x->filter && make_table(x, bits) && note_starts(x, b, n) && rank_chunks(x) &&
		     place_blocks(x, b, n);
	}
	if (!ok) {
		lp_start_index_free(x);
		lp_block_sort(b, n);
	}
	return ok;
}

void
lp_start_index_free(struct lp_start_index *x)
{
	if (x->slots)
		lp_own_munmap(x->slots, x->slots_bytes);
	if (x->big)
		lp_own_munmap(x->big, x->big_bytes);
	if (x->filter)
		lp_own_munmap(x->filter, FILTER_BYTES);
	memset(x, 0, sizeof(*x));
}
