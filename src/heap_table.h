/* SPDX-License-Identifier: MIT */
/*
 * heap_table.h - the live block table: pointer -> {size, stack id}.
 *
 * 16 shards chosen by pointer hash, each an open-addressing array of
 * 16-byte entries under its own spinlock: no global lock on the
 * malloc/free path.  Blocks too big for the 32-bit size field, and blocks
 * at or above LEAKPROBE_LARGE, also get an entry in the large table, which
 * keeps their full size and birth time.
 *
 * Callers hold the reentrancy guard: nothing here may be re-entered from an
 * allocation (a signal handler that mallocs while a shard is locked records
 * nothing, see interpose_malloc.c).
 */
#pragma once

#include "lp.h"

struct lp_block {
	uintptr_t ptr;
	uint64_t size;
	uint32_t stack;
	uint64_t birth_ns; /* only known for large blocks, else 0 */
};

struct lp_heap_totals {
	uint64_t live_blocks, live_bytes, peak_bytes, allocs, frees;
	uint64_t table_bytes; /* memory the table itself uses */
};

void lp_heap_init(uint64_t large_threshold) LP_HIDDEN;
void lp_heap_insert(uintptr_t ptr, uint64_t size, uint32_t stack) LP_HIDDEN;
/* Removes ptr; returns false when it was not a live tracked block. */
bool lp_heap_remove(uintptr_t ptr, struct lp_block *out) LP_HIDDEN;
/* Look a live block up without removing it. */
bool lp_heap_lookup(uintptr_t ptr, struct lp_block *out) LP_HIDDEN;
/* Put back a block taken by lp_heap_remove (failed realloc). */
void lp_heap_restore(const struct lp_block *b) LP_HIDDEN;

/* Copy every live block into a buffer mapped with mmap; the caller
 * releases it with lp_heap_snapshot_free.  Shards are locked one at a
 * time, so the program keeps running. */
struct lp_heap_snapshot {
	struct lp_block *blocks;
	size_t count;
	size_t mapped;
	struct lp_heap_totals totals;
};
bool lp_heap_snapshot(struct lp_heap_snapshot *s) LP_HIDDEN;
void lp_heap_snapshot_free(struct lp_heap_snapshot *s) LP_HIDDEN;

/* fork: take every lock before, release (parent and child) after. */
void lp_heap_lock_all(void) LP_HIDDEN;
void lp_heap_unlock_all(void) LP_HIDDEN;
