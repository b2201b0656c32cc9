/* test_start_index.c - the block list's address order and the lookup of
 * the block holding an address (detect/start_index.c, through
 * lp_reach_find), against a bisection of the blocks qsort put in order.  Random layouts: blocks of 0 to 3 chunks and a few of many,
 * 16- or 8-byte aligned, packed or with gaps of up to 100 KiB, in a few
 * regions far apart, handed over shuffled; addresses asked at every
 * block's edges, in the gaps and at random.  Then the radix sort alone
 * (detect/block_sort.c) against qsort, and the cases the index declines
 * (an odd start, a block listed twice), which must still sort. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/block_sort.h"
#include "detect/reachability.h"
#include "detect/start_index.h"
#include "unit.h"

#define MAXN 20000

static struct lp_reach_block given[MAXN], blocks[MAXN];
static uint8_t state[MAXN];

static uint64_t
rnd(void)
{
	return ((uint64_t)rand() << 31) ^ (uint64_t)rand();
}

static int
by_ptr(const void *a, const void *b)
{
	const struct lp_reach_block *x = a, *y = b;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

/* The oracle: given[] sorted by qsort, searched for the last start at or
 * below a by bisection, that block's extent checked. */
static struct lp_reach_block oracle_sorted[MAXN];

static long
oracle(size_t n, uintptr_t a)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (oracle_sorted[mid].ptr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	const struct lp_reach_block *b = &oracle_sorted[lo - 1];
	return a == b->ptr || a - b->ptr < b->size ? (long)b->tag : -1;
}

static size_t
layout(unsigned align)
{
	size_t n = 1 + (size_t)rand() % MAXN;
	uintptr_t at = 0x10000 + (rnd() % (1ull << 40));
	int dense = rand() % 2;
	for (size_t i = 0; i < n; i++) {
		if (i % 4000 == 0) { /* a region of its own: another arena, an mmap */
			at = (at + 0x100000 + rnd() % (1ull << 36)) & ~(uintptr_t)0xffff;
			at += align == 8 ? 8 : 0; /* a start only 8-byte aligned */
		}
		unsigned pick = (unsigned)rand() % 100;
		uint64_t size = pick < 2	? 8192 + rnd() % 300000 /* big */
				: pick < 10 ? rnd() % 12000
				: pick < 12 ? 0
					    : rnd() % 300;
		given[i] = (struct lp_reach_block){ at, size, (uint32_t)i };
		uintptr_t gap = dense ? 16 : 16 + (rand() % 8 ? rnd() % 256 : rnd() % 100000);
		at = (at + (size ? size : 1) + gap + align - 1) & ~(uintptr_t)(align - 1);
	}
	memcpy(oracle_sorted, given, n * sizeof(*given));
	qsort(oracle_sorted, n, sizeof(*given), by_ptr);
	return n;
}

static void
shuffle(struct lp_reach_block *b, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rnd() % i;
		struct lp_reach_block t = b[i - 1];
		b[i - 1] = b[j];
		b[j] = t;
	}
}

/* b is given[] in address order: sorted, and every block there once. */
static int
sorted_copy(const struct lp_reach_block *b, size_t n)
{
	static unsigned char seen[MAXN];
	memset(seen, 0, n);
	for (size_t i = 0; i < n; i++) {
		if (i && b[i].ptr <= b[i - 1].ptr)
			return 0;
		const struct lp_reach_block *g = &given[b[i].tag];
		if (b[i].tag >= n || seen[b[i].tag]++ || g->ptr != b[i].ptr || g->size != b[i].size)
			return 0;
	}
	return 1;
}

static void
ask(const struct lp_reach *r, size_t n, uintptr_t a, int *bad)
{
	intptr_t i = lp_reach_find(r, a);
	long got = i < 0 ? -1 : (long)blocks[i].tag;
	long want = oracle(n, a);
	if (got != want && !*bad)
		fprintf(stderr, "address %#lx: block %ld, the oracle says %ld\n",
			(unsigned long)a, got, want);
	*bad += got != want;
}

static void
random_layouts(void)
{
	srand(11);
	for (int round = 0; round < 60; round++) {
		unsigned align = round % 3 == 2 ? 8 : 16;
		size_t n = layout(align);
		memcpy(blocks, given, n * sizeof(*blocks));
		shuffle(blocks, n);
		struct lp_start_index x;
		CHECK(lp_start_index_build(&x, blocks, n));
		CHECK(sorted_copy(blocks, n));
		struct lp_reach r;
		lp_reach_init(&r, blocks, state, n, &x, 0);
		int bad = 0;
		for (size_t i = 0; i < n && bad < 5; i++) {
			uintptr_t p = given[i].ptr, s = given[i].size;
			ask(&r, n, p, &bad);
			ask(&r, n, p - 8, &bad);
			ask(&r, n, p + s, &bad);
			if (s)
				ask(&r, n, p + s - 1, &bad);
			if (s > 2)
				ask(&r, n, p + (uintptr_t)rnd() % s, &bad);
			ask(&r, n, p + s + (uintptr_t)rnd() % 70000, &bad);
		}
		for (int k = 0; k < 2000 && bad < 5; k++)
			ask(&r, n, blocks[0].ptr + (uintptr_t)rnd() % (r.hi - r.lo + 1), &bad);
		CHECK(bad == 0);
		lp_reach_free(&r);
		lp_start_index_free(&x);
	}
}

static void
radix_against_qsort(void)
{
	static struct lp_reach_block want[MAXN];
	for (int round = 0; round < 40; round++) {
		size_t n = 1 + (size_t)rand() % MAXN;
		for (size_t i = 0; i < n; i++) /* any bits at all, duplicates too */
			given[i] = (struct lp_reach_block){ rnd() << (round % 5) ^ (rnd() << 33),
							    (uint64_t)i, (uint32_t)i };
		if (round % 4 == 0)
			given[n / 2].ptr = given[0].ptr;
		memcpy(blocks, given, n * sizeof(*blocks));
		memcpy(want, given, n * sizeof(*want));
		lp_block_sort(blocks, n);
		qsort(want, n, sizeof(*want), by_ptr);
		int same = 1;
		for (size_t i = 0; i < n; i++)
			same &= blocks[i].ptr == want[i].ptr;
		CHECK(same);
	}
}

static void
declined_still_sorted(void)
{
	for (int kind = 0; kind < 2; kind++) {
		size_t n = layout(16);
		if (n < 3)
			n = layout(16);
		if (kind == 0)
			given[n - 1].ptr += 4; /* a start no allocator hands out */
		memcpy(blocks, given, n * sizeof(*blocks));
		if (kind == 1)
			blocks[0] = blocks[n - 1]; /* listed twice */
		shuffle(blocks, n);
		struct lp_start_index x;
		CHECK(!lp_start_index_build(&x, blocks, n));
		CHECK(x.slots == NULL);
		int sorted = 1;
		for (size_t i = 1; i < n; i++)
			sorted &= blocks[i].ptr >= blocks[i - 1].ptr;
		CHECK(sorted);
	}
}

int
main(void)
{
	random_layouts();
	radix_against_qsort();
	declined_still_sorted();
	UNIT_DONE();
}
