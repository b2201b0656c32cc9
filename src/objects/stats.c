/* SPDX-License-Identifier: MIT */
/* stats.c - lp_objects_stats (objects.h): the registry, its generations and
 * the ledger's totals, read at once under the lock for a report. */
#include <string.h>

#include "core/options.h"
#include "objects/generations.h"
#include "objects/ledger.h"
#include "objects/objects.h"

void
lp_objects_stats(struct lp_objects_stats *s)
{
	struct lp_vec types = LP_VEC_INIT(uintptr_t);

	memset(s, 0, sizeof(*s));
	s->in_use = lp_objects_in_use();
	lp_spin_lock(&lp_registry_lock);
	s->registered = lp_registry_live;
	s->incref_calls = lp_ledger_totals.incref_calls;
	s->decref_calls = lp_ledger_totals.decref_calls;
	for (int g = 0; g < LP_NGEN; g++) {
		struct lp_gen_stats *gs = &s->gen[g];
		gs->count = lp_generations.count[g];
		gs->threshold = (int64_t)lp_opt.gc_threshold.v[g];
		gs->objects = lp_generations.len[g];
		gs->by_type = (struct lp_vec)LP_VEC_INIT(struct lp_type_count);
		s->tracked += lp_generations.len[g];
		types.len = 0;
		for (uint32_t i = lp_generations.head[g]; i; i = lp_registry_at(i)->next) {
			uintptr_t *t = lp_vec_push(&types);
			if (t)
				*t = lp_registry_at(i)->type;
		}
		lp_type_histogram(types.data, types.len, &gs->by_type);
	}
	s->untracked = s->registered - s->tracked;
	lp_spin_unlock(&lp_registry_lock);
	lp_vec_free(&types);
}

void
lp_objects_stats_free(struct lp_objects_stats *s)
{
	for (int g = 0; g < LP_NGEN; g++)
		lp_vec_free(&s->gen[g].by_type);
}
