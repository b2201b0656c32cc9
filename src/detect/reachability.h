/* SPDX-License-Identifier: MIT */
/*
 * reachability.h - which live blocks the program can still reach, as
 * valgrind memcheck's leak check classifies them.
 *
 * A conservative mark over a frozen heap (the caller scans in a snapshot
 * of the process, see report/classify.c): every pointer-aligned word of
 * the roots that holds an address inside a block marks it; a word equal
 * to the block's start (or matching one of valgrind's heuristics) is a
 * start pointer, any other an interior pointer.  Then, as memcheck:
 *   reachable       a start pointer from a root or a reachable block;
 *   possibly_lost   reached, but only through interior pointers (or
 *                   from a possibly lost block);
 *   definitely_lost not reached at all;
 *   indirectly_lost not reached, but pointed at by a lost block.
 * Lost blocks are taken in address order: each one no clique has claimed
 * leads a "clique" and stays definitely lost; what it reaches through
 * blocks no clique has claimed yet is indirectly lost, the leader of an
 * earlier clique included (memcheck walks no claimed block again).  So a
 * lost cycle has one definitely lost block.
 *
 * The phases: lp_reach_init (blocks sorted by address), lp_reach_scan_root
 * for every root range (each marks and follows at once), lp_reach_finish
 * (the cliques).  Reads the blocks' memory; allocates only through
 * lp_vec (mmap).
 */
#pragma once

#include "core/base.h"
#include "core/own_memory.h"
#include "core/vec.h"

struct lp_start_index;

enum lp_leak_kind {
	LP_LEAK_DEFINITE,
	LP_LEAK_INDIRECT,
	LP_LEAK_POSSIBLE,
	LP_LEAK_REACHABLE,
	LP_LEAK_KINDS
};

/* JSON names: "definitely_lost", ... */
const char *lp_leak_kind_name(enum lp_leak_kind k) LP_HIDDEN;

struct lp_reach_block {
	uintptr_t ptr;
	uint64_t size;
	uint32_t tag;   /* the caller's (the report: the block's stack id) */
};

/* Per block, in the caller's array: the marking state in bits 0-1 (an
 * enum lp_leak_kind after lp_reach_finish), LP_REACH_HEURISTIC when a
 * heuristic's pointer reached it.  The blocks themselves are only read,
 * so a snapshot does not copy their pages. */
#define LP_REACH_KIND(s) ((int)((s) & 3))
#define LP_REACH_HEURISTIC 4

struct lp_reach {
	const struct lp_reach_block *b; /* sorted by ptr */
	uint8_t *state;                 /* n entries */
	size_t n;
	uintptr_t lo, hi; /* lowest block start, highest block end */
	/* Where the blocks start (lp_reach_find in O(1)); NULL: a binary
	 * search over all blocks. */
	const struct lp_start_index *index;
	/* A pointer this far into a block also counts as a start pointer
	 * (CPython's PyGC_Head: 16); 0 for none. */
	unsigned start_offset;
	struct lp_vec work; /* uint32_t: blocks whose contents are to be read */
	/* The readable memory, sorted (the snapshot's mappings): a block
	 * outside it is not read (a record whose memory is gone).  None: every
	 * block is read. */
	const struct lp_range *readable;
	size_t nreadable, readable_last;
	/* The mappings themselves, sorted, for the multiple-inheritance
	 * heuristic (a vtable lies in a file's readable data, its entries in
	 * executable code).  None: that heuristic is off. */
	const struct lp_reach_map *maps;
	size_t nmaps;
	uint64_t unreadable_blocks;
	bool out_of_memory;
	uint64_t words_scanned;
};

#define LP_MAP_FILE 1u
#define LP_MAP_EXEC 2u
struct lp_reach_map {
	uintptr_t lo, hi;
	unsigned flags;
};

/* b[0, n): sorted by address (n <= UINT32_MAX), no two overlapping;
 * index: built over b (start_index.h), or NULL. */
void lp_reach_init(struct lp_reach *r, const struct lp_reach_block *b, uint8_t *state,
		   size_t n, const struct lp_start_index *index, unsigned start_offset) LP_HIDDEN;
/* The words of [lo, hi) are roots: mark what they point at, and
 * everything that reaches. */
void lp_reach_scan_root(struct lp_reach *r, uintptr_t lo, uintptr_t hi) LP_HIDDEN;
/* The index of the block holding address a, or -1. */
intptr_t lp_reach_find(const struct lp_reach *r, uintptr_t a) LP_HIDDEN;
/* After every root: the cliques of lost blocks; then LP_REACH_KIND of
 * state[i] is each block's kind.  Post (LP_DEBUG): what a reachable or
 * possibly lost block points at is not lost. */
void lp_reach_finish(struct lp_reach *r) LP_HIDDEN;
void lp_reach_free(struct lp_reach *r) LP_HIDDEN;
