/* SPDX-License-Identifier: MIT */
/*
 * stackdepot.h - instruction-pointer arrays -> 32-bit stack ids.
 *
 * Deduplicated, append-only, never freed: an id stays valid for the life of
 * the process.  Ids are dense (1, 2, 3...), so a report can aggregate by
 * indexing an array.  Id 0 means "no stack".  Lookups take no lock;
 * inserts lock one of 64 stripes.
 */
#pragma once

#include "lp.h"

struct lp_stack {
	uint32_t next; /* chain in the hash bucket */
	uint32_t hash;
	uint32_t depth;
	uint32_t pad;
	uintptr_t ips[];
};

bool lp_depot_init(void) LP_HIDDEN;
uint32_t lp_depot_put(void *const *ips, unsigned depth) LP_HIDDEN;
const struct lp_stack *lp_depot_get(uint32_t id) LP_HIDDEN;
/* Highest id handed out so far. */
uint32_t lp_depot_count(void) LP_HIDDEN;
/* Bytes of stack storage in use. */
size_t lp_depot_bytes(void) LP_HIDDEN;

void lp_depot_lock_all(void) LP_HIDDEN;
void lp_depot_unlock_all(void) LP_HIDDEN;
