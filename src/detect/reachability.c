/* SPDX-License-Identifier: MIT */
/* reachability.c - see reachability.h. */
#include "detect/reachability.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/warn.h"
#include "detect/start_index.h"

/* The marking states, in the order a block can only climb; the numbers
 * are the enum lp_leak_kind each state ends as. */
enum {
	UNREACHED = LP_LEAK_DEFINITE,
	IN_CLIQUE = LP_LEAK_INDIRECT,
	POSSIBLE = LP_LEAK_POSSIBLE,
	REACHED = LP_LEAK_REACHABLE,
};

/* While marking: the block is longer than start_offset (a pointer that far
 * into it is inside), so the mark need not read its record.  Cleared by
 * lp_reach_finish. */
#define PAST_START_OFFSET 8

const char *
lp_leak_kind_name(enum lp_leak_kind k)
{
	static const char *const names[] = { "definitely_lost", "indirectly_lost",
					     "possibly_lost", "reachable" };
	return k < LP_LEAK_KINDS ? names[k] : "?";
}

void
lp_reach_init(struct lp_reach *r, const struct lp_reach_block *b, uint8_t *state, size_t n,
	      const struct lp_start_index *index, unsigned start_offset)
{
	*r = (struct lp_reach){ .b = b, .state = state, .n = n, .index = index,
				.start_offset = start_offset, .work = LP_VEC_INIT(uint32_t) };
	r->lo = n ? b[0].ptr : 1;
	memset(state, UNREACHED, n);
	for (size_t i = 0; i < n; i++) {
		uintptr_t end = b[i].ptr + (b[i].size ? b[i].size : 1);
		if (end > r->hi)
			r->hi = end;
		if (start_offset && b[i].size > start_offset)
			state[i] |= PAST_START_OFFSET;
	}
}

/* Readable ranges and mappings both begin with {lo, hi}, sorted and
 * disjoint: the index of the last one starting at or below a, or n. */
static inline size_t
range_at(const void *base, size_t stride, size_t n, uintptr_t a)
{
	const char *p = base;
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (*(const uintptr_t *)(p + mid * stride) <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : n;
}

/* The last block of b[lo, hi] (inclusive) starting at or below a. */
static size_t
last_at_or_below(const struct lp_reach *r, size_t lo, size_t hi, uintptr_t a)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (r->b[mid].ptr <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* The last block starting at or below a (it may end before a), or -1,
 * and its start when the index gives it (else 0): inlined into the scan
 * loops (one call per word that looks like a heap address, the hot path
 * of the whole classification). */
static inline __attribute__((always_inline)) intptr_t
candidate(const struct lp_reach *r, uintptr_t a, uintptr_t *start)
{
	*start = 0;
	if (a < r->lo || a >= r->hi)
		return -1;
	if (r->index)
		return lp_start_maybe(r->index, a) ? lp_start_at_or_below(r->index, r->b, a, start)
						   : -1;
	return (intptr_t)last_at_or_below(r, 0, r->n - 1, a);
}

static inline bool
holds(const struct lp_reach_block *blk, uintptr_t a)
{
	return a == blk->ptr || (a > blk->ptr && a - blk->ptr < blk->size);
}

static inline intptr_t
find(const struct lp_reach *r, uintptr_t a)
{
	uintptr_t start;
	intptr_t i = candidate(r, a, &start);
	return i >= 0 && holds(&r->b[i], a) ? i : -1;
}

intptr_t
lp_reach_find(const struct lp_reach *r, uintptr_t a)
{
	return find(r, a);
}

/* [lo, hi) lies in one readable mapping (mappings that touch are
 * merged by the caller). */
static bool
readable(const struct lp_reach *r, uintptr_t lo, uintptr_t hi)
{
	if (!r->nreadable)
		return true;
	size_t i = range_at(r->readable, sizeof(*r->readable), r->nreadable, lo);
	return i < r->nreadable && hi <= r->readable[i].hi;
}

static const struct lp_reach_map *
map_of(const struct lp_reach *r, uintptr_t a)
{
	size_t i = range_at(r->maps, sizeof(*r->maps), r->nmaps, a);
	return i < r->nmaps && a < r->maps[i].hi ? &r->maps[i] : NULL;
}

/* memcheck's test: p points into a file's readable mapping at a table
 * whose first non-null entries (two, within 20 words) point into
 * executable code. */
static bool
is_vtable(const struct lp_reach *r, uintptr_t p)
{
	if ((p & 7) || p < 4096 || !r->nmaps)
		return false;
	const struct lp_reach_map *m = map_of(r, p);
	if (!m || !(m->flags & LP_MAP_FILE))
		return false;
	unsigned fns = 0;
	for (uintptr_t q = p; q < p + 20 * 8 && q + 8 <= m->hi; q += 8) {
		uintptr_t fn = *(const uintptr_t *)q;
		if (!fn)
			continue;
		const struct lp_reach_map *f = map_of(r, fn);
		if (!f || !(f->flags & LP_MAP_EXEC))
			return false;
		if (++fns == 2)
			return true;
	}
	return false;
}

/* valgrind's default heuristics (--leak-check-heuristics=all): interior
 * pointers that C++ makes on purpose count as start pointers.  The block's
 * first words are read, as valgrind does. */
static bool
heuristic_start(const struct lp_reach *r, const struct lp_reach_block *blk, uintptr_t a)
{
	if (!readable(r, blk->ptr, blk->ptr + (blk->size < 32 ? blk->size : 32)))
		return false;
	const uint64_t *w = (const uint64_t *)blk->ptr;
	uintptr_t off = a - blk->ptr;
	/* new[] of a class with a destructor: the element count first. */
	if (off == 8 && blk->size >= 8 && w[0] && (blk->size - 8) % w[0] == 0)
		return true;
	/* length64: a 64-bit length of what follows it. */
	if (off == 8 && blk->size >= 8 && w[0] && w[0] == blk->size - 8)
		return true;
	/* The reference-counted std::string: length, capacity, refcount,
	 * then the characters the string points at. */
	if (off == 24 && blk->size >= 25 && w[1] && w[0] <= w[1] && blk->size >= w[1] + 25)
		return true;
	/* Multiple inheritance: a pointer to a base other than the first, at
	 * a vtable pointer, in an object that starts with one. */
	if (!(off & 7) && off + 8 <= blk->size && is_vtable(r, *(const uintptr_t *)a) &&
	    is_vtable(r, w[0]))
		return true;
	return false;
}

static void
push(struct lp_reach *r, size_t i)
{
	uint32_t *slot = lp_vec_push(&r->work);
	if (slot)
		*slot = (uint32_t)i;
	else
		r->out_of_memory = true;
}

/* Whether the block's record must be read to place a in it: not when a
 * is its start, or start_offset into a block known to be longer. */
static inline bool
needs_record(const struct lp_reach *r, uintptr_t a, uintptr_t start, uint8_t st)
{
	return !start || (a != start && !(a - start == r->start_offset && (st & PAST_START_OFFSET)));
}

/* A word found in a root (definite) or in a reachable or possibly lost
 * block, the block that starts last at or below it and that start if
 * known (candidate()).  A block already reachable is left before its
 * record is read: the state array is a byte per block, the records 24. */
static inline void
mark_candidate(struct lp_reach *r, uintptr_t a, intptr_t i, uintptr_t start, bool definite)
{
	if (i < 0)
		return;
	uint8_t *st = &r->state[i];
	if (LP_REACH_KIND(*st) == REACHED)
		return;
	const struct lp_reach_block *blk = &r->b[i];
	if (needs_record(r, a, start, *st)) {
		if (!holds(blk, a))
			return;
		start = blk->ptr;
	}
	uint8_t to = POSSIBLE, heur = 0;
	if (definite) {
		uintptr_t off = a - start;
		if (off == 0 || (r->start_offset && off == r->start_offset)) {
			to = REACHED;
		} else if (heuristic_start(r, blk, a)) {
			to = REACHED;
			heur = LP_REACH_HEURISTIC;
		}
	}
	if (LP_REACH_KIND(*st) < to) {
		*st = (uint8_t)((*st & ~3) | to | heur);
		push(r, (size_t)i);
	}
}

/* The words of [lo, hi), in groups, each in three steps whose misses
 * overlap within the group instead of following one another: the index
 * entries of its heap-looking words are asked for, then their blocks'
 * states and records, then each word is marked. */
#define GROUP 8

static void
scan_words(struct lp_reach *r, uintptr_t lo, uintptr_t hi, bool definite)
{
	lo = (lo + 7) & ~(uintptr_t)7;
	for (uintptr_t p = lo; p + 8 <= hi;) {
		uintptr_t w[GROUP], start[GROUP];
		intptr_t at[GROUP];
		unsigned k = 0;
		for (; k < GROUP && p + 8 <= hi; p += 8) {
			uintptr_t v = *(const uintptr_t *)p;
			if (v >= r->lo && v < r->hi && (!r->index || lp_start_maybe(r->index, v))) {
				w[k++] = v;
				if (r->index)
					lp_start_prefetch(r->index, v);
			}
		}
		for (unsigned j = 0; j < k; j++) {
			at[j] = candidate(r, w[j], &start[j]);
			if (at[j] >= 0) {
				__builtin_prefetch(&r->state[at[j]]);
				if (!start[j] || start[j] != w[j])
					__builtin_prefetch(&r->b[at[j]]);
			}
		}
		for (unsigned j = 0; j < k; j++)
			mark_candidate(r, w[j], at[j], start[j], definite);
	}
	r->words_scanned += hi > lo ? (hi - lo) / 8 : 0;
}

/* readable(), first against the range the previous block was in: blocks
 * read one after another mostly lie in the same mapping. */
static bool
readable_near(struct lp_reach *r, uintptr_t lo, uintptr_t hi)
{
	if (!r->nreadable)
		return true;
	const struct lp_range *last = &r->readable[r->readable_last];
	if (lo >= last->lo && hi <= last->hi)
		return true;
	size_t i = range_at(r->readable, sizeof(*r->readable), r->nreadable, lo);
	if (i == r->nreadable || hi > r->readable[i].hi)
		return false;
	r->readable_last = i;
	return true;
}

static void
scan_block(struct lp_reach *r, const struct lp_reach_block *blk, bool definite)
{
	if (!readable_near(r, blk->ptr, blk->ptr + blk->size)) {
		r->unreadable_blocks++;
		return;
	}
	scan_words(r, blk->ptr, blk->ptr + blk->size, definite);
}

/* How far ahead of the block being read its successors' records and
 * memory are asked for: the mark is bound by misses on blocks all over the
 * heap, a queue knows which blocks come next (a stack does not). */
#define RECORD_AHEAD 32
#define MEMORY_AHEAD 16

/* Read the blocks on the work queue until it is empty (first in, first
 * out); a block read as possibly lost and reached later by a start
 * pointer is read again.  The kinds do not depend on the order. */
static void
drain(struct lp_reach *r)
{
	const uint32_t *q = r->work.data;
	for (size_t head = 0; head < r->work.len; head++) {
		q = r->work.data; /* a vec may move as it grows */
		if (head + RECORD_AHEAD < r->work.len)
			__builtin_prefetch(&r->b[q[head + RECORD_AHEAD]]);
		if (head + MEMORY_AHEAD < r->work.len) {
			const struct lp_reach_block *next = &r->b[q[head + MEMORY_AHEAD]];
			__builtin_prefetch((const void *)next->ptr);
			if (next->size > 64)
				__builtin_prefetch((const void *)(next->ptr + 64));
		}
		uint32_t i = q[head];
		scan_block(r, &r->b[i], LP_REACH_KIND(r->state[i]) == REACHED);
	}
	r->work.len = 0;
}

void
lp_reach_scan_root(struct lp_reach *r, uintptr_t lo, uintptr_t hi)
{
	scan_words(r, lo, hi, true);
	drain(r);
}

/* Lost blocks, in address order: a block no lost block has pointed at
 * yet leads; whatever it reaches that is not reached otherwise joins its
 * clique, an earlier leader included. */
static void
form_cliques(struct lp_reach *r)
{
	for (size_t leader = 0; leader < r->n; leader++) {
		if (LP_REACH_KIND(r->state[leader]) != UNREACHED)
			continue;
		push(r, leader);
		while (r->work.len) {
			uint32_t i = LP_VEC_AT(&r->work, uint32_t, --r->work.len);
			const struct lp_reach_block *blk = &r->b[i];
			if (!readable(r, blk->ptr, blk->ptr + blk->size))
				continue;
			uintptr_t lo = (blk->ptr + 7) & ~(uintptr_t)7;
			for (uintptr_t p = lo; p + 8 <= blk->ptr + blk->size; p += 8) {
				intptr_t to = find(r, *(const uintptr_t *)p);
				if (to >= 0 && (size_t)to != leader &&
				    LP_REACH_KIND(r->state[to]) == UNREACHED) {
					r->state[to] = IN_CLIQUE;
					push(r, (size_t)to);
				}
			}
		}
	}
}

#ifdef LP_DEBUG
/* Post of lp_reach_finish: every state is a kind, and what a reached
 * block points at was reached too. */
static void
validate_kinds(const struct lp_reach *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct lp_reach_block *blk = &r->b[i];
		if (!readable(r, blk->ptr, blk->ptr + blk->size))
			continue;
		uintptr_t lo = (blk->ptr + 7) & ~(uintptr_t)7;
		for (uintptr_t p = lo; p + 8 <= blk->ptr + blk->size; p += 8) {
			intptr_t to = find(r, *(const uintptr_t *)p);
			if (to < 0)
				continue;
			if (LP_REACH_KIND(r->state[i]) >= POSSIBLE)
				lp_assert(LP_REACH_KIND(r->state[to]) >= POSSIBLE);
		}
	}
}
#else
static inline void
validate_kinds(const struct lp_reach *r)
{
}
#endif

void
lp_reach_finish(struct lp_reach *r)
{
	for (size_t i = 0; r->start_offset && i < r->n; i++)
		r->state[i] &= (uint8_t)~PAST_START_OFFSET;
	form_cliques(r);
	validate_kinds(r);
}

void
lp_reach_free(struct lp_reach *r)
{
	lp_vec_free(&r->work);
}
