/* SPDX-License-Identifier: MIT */
/*
 * heap_table.h - the side table of live blocks: pointer -> {size, stack id}.
 *
 * Most blocks carry a header and live in the allocation logs
 * (alloc_log.h); this table holds the others: the aligned family's, the
 * large ones, and every block when LEAKPROBE_HEADERS=0.  16 shards chosen
 * by pointer hash, each an open-addressing array of 16-byte entries under
 * its own spinlock: no global lock on the malloc/free path.  Blocks too big for the 32-bit size field, and blocks
 * at or above LEAKPROBE_LARGE, also get an entry in the large table, which
 * keeps their full size and birth time.
 *
 * Callers hold the reentrancy guard: nothing here may be re-entered from an
 * allocation (a signal handler that mallocs while a shard is locked records
 * nothing, see interpose_malloc.c).
 */
#pragma once

#include "core/base.h"

struct lp_block {
	uintptr_t ptr;
	uint64_t size;
	uint32_t stack;
	uint64_t birth_ns; /* only known for large blocks, else 0 */
};

struct lp_heap_totals {
	uint64_t live_blocks, live_bytes, peak_bytes, allocs, frees;
	uint64_t table_bytes;  /* memory the side table and the logs use */
	uint64_t header_bytes; /* block headers of the live blocks */
};

void lp_heap_init(uint64_t large_threshold) LP_HIDDEN;
void lp_heap_insert(uintptr_t ptr, uint64_t size, uint32_t stack) LP_HIDDEN;
/* Removes ptr; returns false when it was not a live tracked block. */
bool lp_heap_remove(uintptr_t ptr, struct lp_block *out) LP_HIDDEN;
/* Look a live block up without removing it. */
bool lp_heap_lookup(uintptr_t ptr, struct lp_block *out) LP_HIDDEN;
/* Put back a block taken by lp_heap_remove (failed realloc). */
void lp_heap_restore(const struct lp_block *b) LP_HIDDEN;

/* Call fn for every live block, one shard locked at a time (the program
 * keeps running): fn must not allocate.  Adds the table's counters and
 * memory to *totals. */
void lp_heap_visit(void (*fn)(const struct lp_block *b, void *arg), void *arg,
		   struct lp_heap_totals *totals) LP_HIDDEN;

/* Live bytes went up or down by delta: keeps the peak (for the logs too).
 * Callers hold the guard (depth 1 on the usual path; deeper, the change
 * is published at once). */
void lp_heap_account(int64_t delta) LP_HIDDEN;
/* The highest live bytes seen: exact in one thread, within 64 KiB per
 * other thread that changed the heap since it last published. */
uint64_t lp_heap_peak(void) LP_HIDDEN;
/* The live bytes as accounted (published plus every thread's delta):
 * equals the tables' live bytes whenever no change is under way. */
int64_t lp_heap_accounted(void) LP_HIDDEN;
/* fork, in the child: publish the deltas of the threads left behind. */
void lp_heap_after_fork_child(void) LP_HIDDEN;

/* fork: take every lock before, release (parent and child) after. */
void lp_heap_lock_all(void) LP_HIDDEN;
void lp_heap_unlock_all(void) LP_HIDDEN;
