/* SPDX-License-Identifier: MIT */
/*
 * record.h - what the shim does for each allocation and free it sees:
 * capture the stack, intern it in the depot, update the live block table.
 * Out of line so the interposers stay a few instructions long.
 */
#pragma once

#include "lp.h"

/* caller: the return address into the code that called the allocator,
 * the stack when no unwinder can do better. */
void lp_record_alloc(void *p, size_t size, void *caller) LP_HIDDEN;
void lp_record_free(void *p) LP_HIDDEN;
/* realloc on a tracked path: the old block is forgotten before the real
 * realloc (its address may be reused at once) and restored if it fails. */
void *lp_record_realloc(void *p, size_t size, void *caller) LP_HIDDEN;

/* Counters of events the report mentions. */
struct lp_record_stats {
	uint64_t untracked_frees; /* frees of pointers we never recorded */
};
extern struct lp_record_stats lp_record_stats LP_HIDDEN;
