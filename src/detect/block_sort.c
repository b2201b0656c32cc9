/* SPDX-License-Identifier: MIT */
/* block_sort.c - see block_sort.h. */
#include "detect/block_sort.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* 11-bit digits: a pass's 2048 counters stay in L1 and its 2048 write
 * streams in the TLB; 47-bit user addresses aligned to 16 bytes take four
 * passes. */
#define DIGIT_BITS 11
#define RADIX (1u << DIGIT_BITS)
#define MAX_PASSES ((64 + DIGIT_BITS - 1) / DIGIT_BITS)

static int
by_ptr(const void *a, const void *b)
{
	const struct lp_reach_block *x = a, *y = b;
	return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

struct scratch {
	size_t count[MAX_PASSES][RADIX];
	struct lp_reach_block tmp[];
};

/* Least significant digit first; each pass is stable, so after the last
 * one the list is ordered by the whole address.  Digits every block shares
 * (the address's top bits, its alignment's zeros) are not passed over. */
void
lp_block_sort(struct lp_reach_block *b, size_t n)
{
	uintptr_t any = 0, prev = 0;
	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		any |= b[i].ptr;
		sorted &= b[i].ptr >= prev;
		prev = b[i].ptr;
	}
	if (sorted) /* a heap that has only grown */
		return;
	size_t bytes = (sizeof(struct scratch) + n * sizeof(*b) + 4095) & ~(size_t)4095;
	struct scratch *s = lp_own_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		qsort(b, n, sizeof(*b), by_ptr);
		return;
	}
	unsigned low = (unsigned)__builtin_ctzl(any); /* any != 0: not sorted */
	unsigned passes = (64 - low + DIGIT_BITS - 1) / DIGIT_BITS;
	for (size_t i = 0; i < n; i++)
		for (unsigned d = 0; d < passes; d++)
			s->count[d][(b[i].ptr >> (low + d * DIGIT_BITS)) & (RADIX - 1)]++;
	struct lp_reach_block *from = b, *to = s->tmp;
	for (unsigned d = 0; d < passes; d++) {
		unsigned shift = low + d * DIGIT_BITS;
		size_t *count = s->count[d];
		if (count[(b[0].ptr >> shift) & (RADIX - 1)] == n)
			continue; /* one digit for all */
		size_t at = 0;
		for (unsigned k = 0; k < RADIX; k++) {
			size_t c = count[k];
			count[k] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			to[count[(from[i].ptr >> shift) & (RADIX - 1)]++] = from[i];
		struct lp_reach_block *t = from;
		from = to;
		to = t;
	}
	if (from != b)
		memcpy(b, from, n * sizeof(*b));
	lp_own_munmap(s, bytes);
}
