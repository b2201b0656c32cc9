/* SPDX-License-Identifier: MIT */
/* generations.c - see generations.h: moving generations up after a pass. */
#include "objects/generations.h"

struct lp_generation_state lp_generations;

void
lp_generations_promote_locked(int gen)
{
	struct lp_generation_state *gs = &lp_generations;
	int to = gen + 1 < LP_NGEN ? gen + 1 : LP_NGEN - 1;
	uint64_t moved = 0;

	/* Splice each younger list onto the end of the target, as CPython's
	 * gc_list_merge does; only the generation byte of each record needs
	 * touching, in one walk. */
	for (int g = 0; g <= gen; g++) {
		if (g == to || !gs->head[g])
			continue;
		for (uint32_t i = gs->head[g]; i; i = lp_registry_at(i)->next)
			lp_registry_at(i)->gen = (int8_t)to;
		if (gs->tail[to]) {
			lp_registry_at(gs->tail[to])->next = gs->head[g];
			lp_registry_at(gs->head[g])->prev = gs->tail[to];
		} else {
			gs->head[to] = gs->head[g];
		}
		gs->tail[to] = gs->tail[g];
		moved += gs->len[g];
		gs->len[to] += gs->len[g];
		gs->head[g] = gs->tail[g] = 0;
		gs->len[g] = 0;
	}
	/* CPython's counts after collecting generation gen. */
	if (gen + 1 < LP_NGEN)
		gs->count[gen + 1]++;
	for (int g = 0; g <= gen; g++)
		gs->count[g] = 0;
	if (gen == LP_NGEN - 2)
		gs->long_lived_pending += moved;
	if (gen == LP_NGEN - 1) {
		gs->long_lived_pending = 0;
		gs->long_lived_total = gs->len[LP_NGEN - 1];
	}
}
