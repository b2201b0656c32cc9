/* SPDX-License-Identifier: MIT */
/*
 * record.h - what the shim does for each allocation and free it sees:
 * capture the stack, intern it in the depot, record the block (in its
 * thread's log when it carries a header, else in the side table).  Out of
 * line so the interposers stay a few instructions long.
 */
#pragma once

#include "core/base.h"
#include "record/heap_table.h"

/* caller: the return address into the code that called the allocator,
 * the stack when no unwinder can do better. */
void lp_record_alloc(void *p, size_t size, void *caller) LP_HIDDEN;
void lp_record_free(void *p) LP_HIDDEN;
/* realloc on a tracked path: the old block is forgotten before the real
 * realloc (its address may be reused at once) and restored if it fails. */
void *lp_record_realloc(void *p, size_t size, void *caller) LP_HIDDEN;

/* Blocks with a header (block_header.h); p is what the program sees.
 * alloc: the header is written here.  free: called while tracking, before
 * the real free of the base; the header is cleared. */
void lp_record_alloc_headered(void *p, size_t size, void *caller) LP_HIDDEN;
void lp_record_free_headered(void *p) LP_HIDDEN;
/* free of a headered block when not tracking on this thread: false when
 * the free must wait (this thread is inside the shim); true when the
 * caller frees the base now. */
bool lp_record_free_headered_slow(void *p) LP_HIDDEN;
/* realloc of a headered block to a size below the header limit, while
 * tracking. */
void *lp_record_realloc_headered(void *p, size_t size, void *caller) LP_HIDDEN;
/* realloc of a headered block to a size at or above the header limit,
 * while tracking: into a new headerless block (copy bytes copied). */
void *lp_record_realloc_headered_to_side(void *p, size_t size, size_t copy,
					 void *caller) LP_HIDDEN;

/* The record of a live block, headered or not. */
bool lp_record_lookup(uintptr_t ptr, struct lp_block *out) LP_HIDDEN;

/* Counters of events the report mentions. */
struct lp_record_stats {
	uint64_t untracked_frees; /* frees of pointers we never recorded */
	uint64_t restored;	  /* failed reallocs: counted as neither */
};
extern struct lp_record_stats lp_record_stats LP_HIDDEN;

/* Blocks of at least this many bytes go to the side table, headerless:
 * min(LEAKPROBE_LARGE, 4 GiB); 0 with LEAKPROBE_HEADERS=0. */
extern size_t lp_header_limit LP_HIDDEN;
