/* SPDX-License-Identifier: MIT */
/* objects.c - see objects.h.  Called with the guard held. */
#include "objects/objects.h"

#include <stdlib.h>
#include <string.h>

#include "core/options.h"
#include "objects/generations.h"
#include "objects/ledger.h"

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

static int
by_count_desc(const void *a, const void *b)
{
	const struct lp_type_count *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->type < y->type ? -1 : x->type > y->type;
}

/* Counting in a small table keyed by type (a program has hundreds of
 * types, not millions): one pass over n objects, no sort of them. */
void
lp_type_histogram(const uintptr_t *types, size_t n, struct lp_vec *out)
{
	struct lp_vec table = LP_VEC_INIT(struct lp_type_count);
	size_t cap = 1024, used = 0;
	if (!lp_vec_reserve(&table, cap))
		return;
	struct lp_type_count *t = table.data;
	memset(t, 0, cap * sizeof(*t));
	for (size_t k = 0; k < n; k++) {
		if (used * 2 >= cap) {
			/* Rehash into a table twice the size. */
			struct lp_vec bigger = LP_VEC_INIT(struct lp_type_count);
			if (!lp_vec_reserve(&bigger, cap * 2))
				break;
			struct lp_type_count *b = bigger.data;
			memset(b, 0, cap * 2 * sizeof(*b));
			for (size_t i = 0; i < cap; i++) {
				if (!t[i].count)
					continue;
				size_t h = (size_t)((t[i].type * 0x9E3779B97F4A7C15ull) >> 32) & (cap * 2 - 1);
				while (b[h].count)
					h = (h + 1) & (cap * 2 - 1);
				b[h] = t[i];
			}
			lp_vec_free(&table);
			table = bigger;
			t = table.data;
			cap *= 2;
		}
		size_t h = (size_t)((types[k] * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
		while (t[h].count && t[h].type != types[k])
			h = (h + 1) & (cap - 1);
		if (!t[h].count) {
			t[h].type = types[k];
			used++;
		}
		t[h].count++;
	}
	for (size_t i = 0; i < cap; i++) {
		if (!t[i].count)
			continue;
		struct lp_type_count *tc = lp_vec_push(out);
		if (tc)
			*tc = t[i];
	}
	lp_vec_free(&table);
	if (out->len)
		qsort(out->data, out->len, sizeof(struct lp_type_count), by_count_desc);
}

int
lp_objects_due_generation(void)
{
	const struct lp_generation_state *gs = &lp_generations;
	int gen = -1;

	lp_spin_lock(&lp_registry_lock);
	/* CPython's collect_generations: the oldest generation over its
	 * threshold; a full pass only when the long-lived objects grew by
	 * a quarter since the last one. */
	for (int g = LP_NGEN - 1; g >= 0; g--) {
		if (gs->count[g] <= (int64_t)lp_opt.gc_threshold.v[g] || !lp_opt.gc_threshold.v[g])
			continue;
		if (g == LP_NGEN - 1 && gs->long_lived_pending < gs->long_lived_total / 4)
			continue;
		gen = g;
		break;
	}
	lp_spin_unlock(&lp_registry_lock);
	return gen;
}
