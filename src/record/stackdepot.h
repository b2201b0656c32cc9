/* SPDX-License-Identifier: MIT */
/*
 * stackdepot.h - instruction-pointer arrays -> 32-bit stack ids.
 *
 * Deduplicated, append-only, never freed: an id stays valid for the life of
 * the process.  Ids are dense (1, 2, 3...), so a report can aggregate by
 * indexing an array.  Id 0 means "no stack".  Lookups take no lock;
 * inserts lock one of 64 stripes.
 *
 * A new stack also keeps, per frame, the load address of the module that
 * held it when it was captured (after ips[]): a plugin unloaded and loaded
 * again elsewhere, over part of its old range, leaves addresses that two
 * loads shared, and the report must know which one a frame was in.
 */
#pragma once

#include "core/base.h"

struct lp_stack {
	uint32_t next; /* chain in the hash bucket */
	uint32_t hash;
	uint32_t depth;
	uint32_t pad;
	uintptr_t ips[]; /* depth return addresses, then depth load biases */
};

#define LP_BIAS_UNKNOWN UINTPTR_MAX

/* The load bias of the module frame i was in (LP_BIAS_UNKNOWN if none). */
static inline uintptr_t
lp_stack_bias(const struct lp_stack *s, uint32_t i)
{
	return s->ips[s->depth + i];
}

bool lp_stackdepot_init(void) LP_HIDDEN;
uint32_t lp_stackdepot_put(void *const *ips, unsigned depth) LP_HIDDEN;
const struct lp_stack *lp_stackdepot_get(uint32_t id) LP_HIDDEN;
/* Highest id handed out so far. */
uint32_t lp_stackdepot_count(void) LP_HIDDEN;
/* Bytes of stack storage in use. */
size_t lp_stackdepot_bytes(void) LP_HIDDEN;

void lp_stackdepot_lock_all(void) LP_HIDDEN;
void lp_stackdepot_unlock_all(void) LP_HIDDEN;
