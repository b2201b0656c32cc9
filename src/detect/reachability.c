/* SPDX-License-Identifier: MIT */
/* reachability.c - see reachability.h. */
#include "detect/reachability.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/warn.h"

/* The marking states, in the order a block can only climb; the numbers
 * are the enum lp_leak_kind each state ends as. */
enum {
	UNREACHED = LP_LEAK_DEFINITE,
	IN_CLIQUE = LP_LEAK_INDIRECT,
	POSSIBLE = LP_LEAK_POSSIBLE,
	REACHED = LP_LEAK_REACHABLE,
};

const char *
lp_leak_kind_name(enum lp_leak_kind k)
{
	static const char *const names[] = { "definitely_lost", "indirectly_lost",
					     "possibly_lost", "reachable" };
	return k < LP_LEAK_KINDS ? names[k] : "?";
}

static void index_pages(struct lp_reach *r);

void
lp_reach_init(struct lp_reach *r, const struct lp_reach_block *b, uint8_t *state, size_t n,
	      unsigned start_offset)
{
	*r = (struct lp_reach){ .b = b, .state = state, .n = n, .start_offset = start_offset,
				.work = LP_VEC_INIT(uint32_t) };
	r->lo = n ? b[0].ptr : 1;
	memset(state, UNREACHED, n);
	for (size_t i = 0; i < n; i++) {
		uintptr_t end = b[i].ptr + (b[i].size ? b[i].size : 1);
		if (end > r->hi)
			r->hi = end;
	}
	index_pages(r);
}

#define CLUSTER_GAP (64u << 10)

static uintptr_t
block_end(const struct lp_reach_block *b)
{
	return b->ptr + (b->size ? b->size : 1);
}

/* Builds r->clusters and r->pages; leaves them NULL when the pages would
 * outnumber 4 per block (plus 64 Ki). */
/* The cluster that begins with block i: [*lo, *hi), its first block's
 * page to the highest end; returns the index of the block after it. */
static size_t
cluster_from(const struct lp_reach *r, size_t i, uintptr_t *lo, uintptr_t *hi)
{
	*lo = r->b[i].ptr & ~(uintptr_t)4095;
	*hi = block_end(&r->b[i]);
	for (i++; i < r->n && r->b[i].ptr - *hi < CLUSTER_GAP; i++)
		if (block_end(&r->b[i]) > *hi)
			*hi = block_end(&r->b[i]);
	return i;
}

static void
index_pages(struct lp_reach *r)
{
	size_t nclusters = 0;
	uintptr_t span = 0, lo, hi;
	for (size_t i = 0; i < r->n; nclusters++) {
		i = cluster_from(r, i, &lo, &hi);
		span += hi - lo;
	}
	/* The finest "page" (64 B .. 4 KiB) that keeps the index within two
	 * entries per block: a few blocks per page, so the search within one
	 * touches a cache line or two.  Each cluster takes at most its span's
	 * pages plus two. */
	unsigned shift = 6;
	while (shift < 12 && (span >> shift) > 2 * r->n + 65536)
		shift++;
	size_t npages = (span >> shift) + 2 * nclusters;
	if (!nclusters || npages > 4 * r->n + 65536)
		return;
	r->page_shift = shift;
	r->clusters_bytes = (nclusters * sizeof(*r->clusters) + 4095) & ~(size_t)4095;
	r->pages_bytes = (npages * sizeof(*r->pages) + 4095) & ~(size_t)4095;
	void *c = lp_own_mmap(NULL, r->clusters_bytes, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *p = lp_own_mmap(NULL, r->pages_bytes, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED || p == MAP_FAILED) {
		if (c != MAP_FAILED)
			lp_own_munmap(c, r->clusters_bytes);
		if (p != MAP_FAILED)
			lp_own_munmap(p, r->pages_bytes);
		return;
	}
	r->clusters = c;
	r->pages = p;
	size_t page = 0;
	for (size_t i = 0; i < r->n;) {
		struct lp_reach_cluster *cl = &r->clusters[r->nclusters++];
		size_t first = i;
		i = cluster_from(r, i, &cl->lo, &cl->hi);
		cl->first_page = page;
		size_t pages = ((cl->hi - cl->lo) >> shift) + 2;
		size_t k = first;
		for (size_t q = 0; q < pages; q++) {
			uintptr_t at = cl->lo + (q << shift);
			while (k + 1 < i && r->b[k + 1].ptr <= at)
				k++;
			r->pages[page + q] = (uint32_t)k;
		}
		page += pages;
	}
}

/* Clusters, readable ranges and mappings all begin with {lo, hi}, sorted
 * and disjoint: the index of the last one starting at or below a, or n. */
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

/* lp_reach_find, inlined into the scan loops (the hot path of the whole
 * classification: one call per word that looks like a heap address). */
static inline intptr_t
find(const struct lp_reach *r, uintptr_t a)
{
	if (a < r->lo || a >= r->hi)
		return -1;
	size_t i;
	if (r->pages) {
		size_t c = range_at(r->clusters, sizeof(*r->clusters), r->nclusters, a);
		if (c == r->nclusters || a >= r->clusters[c].hi)
			return -1;
		const struct lp_reach_cluster *cl = &r->clusters[c];
		size_t q = cl->first_page + ((a - cl->lo) >> r->page_shift);
		i = last_at_or_below(r, r->pages[q], r->pages[q + 1], a);
	} else {
		i = last_at_or_below(r, 0, r->n - 1, a);
	}
	const struct lp_reach_block *blk = &r->b[i];
	if (a == blk->ptr || (a > blk->ptr && a - blk->ptr < blk->size))
		return (intptr_t)i;
	return -1;
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

/* A word found in a root (definite) or in a block of state from. */
static inline void
mark(struct lp_reach *r, uintptr_t a, bool definite)
{
	intptr_t i = find(r, a);
	if (i < 0)
		return;
	const struct lp_reach_block *blk = &r->b[i];
	uint8_t to = POSSIBLE, heur = 0;
	if (definite) {
		uintptr_t off = a - blk->ptr;
		if (off == 0 || (r->start_offset && off == r->start_offset)) {
			to = REACHED;
		} else if (heuristic_start(r, blk, a)) {
			to = REACHED;
			heur = LP_REACH_HEURISTIC;
		}
	}
	uint8_t *st = &r->state[i];
	if (LP_REACH_KIND(*st) < to) {
		*st = (uint8_t)(to | heur);
		push(r, (size_t)i);
	}
}

static void
scan_words(struct lp_reach *r, uintptr_t lo, uintptr_t hi, bool definite)
{
	lo = (lo + 7) & ~(uintptr_t)7;
	for (uintptr_t p = lo; p + 8 <= hi; p += 8) {
		uintptr_t w = *(const uintptr_t *)p;
		if (w >= r->lo && w < r->hi)
			mark(r, w, definite);
	}
	r->words_scanned += hi > lo ? (hi - lo) / 8 : 0;
}

static void
scan_block(struct lp_reach *r, const struct lp_reach_block *blk, bool definite)
{
	if (!readable(r, blk->ptr, blk->ptr + blk->size)) {
		r->unreadable_blocks++;
		return;
	}
	scan_words(r, blk->ptr, blk->ptr + blk->size, definite);
}

/* Read the blocks on the work list until it is empty; a block read as
 * possibly lost and reached later by a start pointer is read again. */
static void
drain(struct lp_reach *r)
{
	while (r->work.len) {
		uint32_t i = LP_VEC_AT(&r->work, uint32_t, --r->work.len);
		/* The next block's memory is on its way while this one is read:
		 * the mark is bound by misses on blocks all over the heap. */
		for (size_t k = 1; k <= 4 && k <= r->work.len; k++) {
			const struct lp_reach_block *next =
				&r->b[LP_VEC_AT(&r->work, uint32_t, r->work.len - k)];
			__builtin_prefetch((const void *)next->ptr);
		}
		scan_block(r, &r->b[i], LP_REACH_KIND(r->state[i]) == REACHED);
	}
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
	form_cliques(r);
	validate_kinds(r);
}

void
lp_reach_free(struct lp_reach *r)
{
	lp_vec_free(&r->work);
	if (r->pages) {
		lp_own_munmap(r->pages, r->pages_bytes);
		lp_own_munmap(r->clusters, r->clusters_bytes);
	}
}
