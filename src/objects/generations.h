/* SPDX-License-Identifier: MIT */
/*
 * generations.h - CPython's three generations over the registry's records,
 * private to objects/.  Each generation is a doubly linked list threaded
 * through the records (lp_obj.prev/next, record indices, 0 = none); a
 * record's gen says which list holds it, LP_GEN_UNTRACKED for none.  All of
 * it is under lp_registry_lock (registry.h).
 */
#pragma once

#include "objects/registry.h"

struct lp_generation_state {
	uint32_t head[LP_NGEN], tail[LP_NGEN];
	uint64_t len[LP_NGEN];
	/* CPython's gcstate counts: count[0] is GC allocations less GC
	 * deletions since the last gen0 pass, count[g] passes over g-1. */
	int64_t count[LP_NGEN];
	/* When a full pass is due (collection_policy.c). */
	uint64_t long_lived_total, long_lived_pending;
};
extern struct lp_generation_state lp_generations LP_HIDDEN;

/* Inline: tracking, untracking and deleting an object link or unlink on
 * every call. */
static inline void
lp_generation_unlink_locked(uint32_t i)
{
	struct lp_obj *o = lp_registry_at(i);
	int g = o->gen;
	if (g < 0)
		return;
	if (o->prev)
		lp_registry_at(o->prev)->next = o->next;
	else
		lp_generations.head[g] = o->next;
	if (o->next)
		lp_registry_at(o->next)->prev = o->prev;
	else
		lp_generations.tail[g] = o->prev;
	o->prev = o->next = 0;
	o->gen = LP_GEN_UNTRACKED;
	lp_generations.len[g]--;
}

static inline void
lp_generation_append_locked(uint32_t i, int g)
{
	struct lp_obj *o = lp_registry_at(i);
	o->gen = (int8_t)g;
	o->next = 0;
	o->prev = lp_generations.tail[g];
	if (lp_generations.tail[g])
		lp_registry_at(lp_generations.tail[g])->next = i;
	else
		lp_generations.head[g] = i;
	lp_generations.tail[g] = i;
	lp_generations.len[g]++;
}

/* After a pass over generations 0..gen: move them all to gen+1 and set the
 * counts as CPython's collection does. */
void lp_generations_promote_locked(int gen) LP_HIDDEN;
