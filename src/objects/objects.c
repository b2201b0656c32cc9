/* SPDX-License-Identifier: MIT */
/* objects.c - see objects.h.  Called with the guard held. */
#include "objects/objects.h"

#include <stdlib.h>
#include <string.h>

#include "core/options.h"
#include "detect/pyabi.h"
#include "objects/generations.h"
#include "objects/ledger.h"

/* Gather the members of generations 0..gen that the runtime still
 * tracks, with their refcounts (the GC head and ob_refcnt share a cache
 * line: one miss for both). */
static bool
gather_locked(int gen, struct lp_pass *p)
{
	size_t total = 0;
	for (int g = 0; g <= gen; g++)
		total += lp_generations.len[g];
	if (!lp_vec_reserve(&p->objs, total + 1) || !lp_vec_reserve(&p->refcnts, total + 1) ||
	    !lp_vec_reserve(&p->recs, total + 1))
		return false;
	uintptr_t *objs = p->objs.data;
	int64_t *refs = p->refcnts.data;
	uint32_t *recs = p->recs.data;
	size_t n = 0;
	if (gen == LP_NGEN - 1) {
		/* Every generation: scan the records in order, prefetching
		 * the objects ahead, rather than chase list links. */
		size_t nrec = lp_registry_records.len;
		for (size_t i = 1; i < nrec; i++) {
			if (i + 16 < nrec && lp_registry_at((uint32_t)i + 16)->gen >= 0)
				__builtin_prefetch((void *)(lp_registry_at((uint32_t)i + 16)->addr -
							    LP_PY_GC_HEAD_SIZE));
			const struct lp_obj *o = lp_registry_at((uint32_t)i);
			if (o->gen < 0 || !o->addr || !lp_py_gc_tracked(o->addr))
				continue;
			objs[n] = o->addr;
			refs[n] = lp_py_refcnt(o->addr);
			recs[n] = (uint32_t)i;
			n++;
		}
		p->objs.len = p->refcnts.len = p->recs.len = n;
		return true;
	}
	for (int g = 0; g <= gen; g++) {
		for (uint32_t i = lp_generations.head[g]; i; i = lp_registry_at(i)->next) {
			uintptr_t a = lp_registry_at(i)->addr;
			if (!lp_py_gc_tracked(a))
				continue; /* untracked behind our back (inline) */
			objs[n] = a;
			refs[n] = lp_py_refcnt(a);
			recs[n] = i;
			n++;
		}
	}
	p->objs.len = p->refcnts.len = p->recs.len = n;
	return true;
}

/* Copy the garbage's records (they may change once we unlock) and add up
 * each group's bytes. */
static bool
describe_garbage_locked(struct lp_pass *p)
{
	size_t nu = p->det.unreachable.len;
	if (!lp_vec_reserve(&p->info, nu + 1))
		return false;
	for (size_t k = 0; k < nu; k++) {
		uint32_t idx = LP_VEC_AT(&p->det.unreachable, uint32_t, k);
		LP_VEC_AT(&p->info, struct lp_obj, k) =
			*lp_registry_at(LP_VEC_AT(&p->recs, uint32_t, idx));
	}
	p->info.len = nu;
	for (size_t gi = 0; gi < p->det.groups.len; gi++) {
		struct lp_detect_group *g = &LP_VEC_AT(&p->det.groups, struct lp_detect_group, gi);
		g->bytes = 0;
		for (uint32_t k = 0; k < g->count; k++)
			g->bytes += LP_VEC_AT(&p->info, struct lp_obj, g->first + k).size;
	}
	return true;
}

long
lp_objects_pass(int gen, bool promote, struct lp_pass *p)
{
	if (gen < 0 || gen >= LP_NGEN)
		gen = LP_NGEN - 1;
	memset(p, 0, sizeof(*p));
	p->generation = gen;
	p->objs = (struct lp_vec)LP_VEC_INIT(uintptr_t);
	p->refcnts = (struct lp_vec)LP_VEC_INIT(int64_t);
	p->recs = (struct lp_vec)LP_VEC_INIT(uint32_t);
	p->info = (struct lp_vec)LP_VEC_INIT(struct lp_obj);

	lp_spin_lock(&lp_registry_lock);
	bool ok = gather_locked(gen, p);
	lp_spin_unlock(&lp_registry_lock);
	if (!ok)
		goto fail;
	/* No lock while tp_traverse runs: it is the runtime's code. */
	p->det.objs = p->objs.data;
	p->det.refcnts = p->refcnts.data;
	p->det.n = (uint32_t)p->objs.len;
	if (!lp_detect_run(&p->det))
		goto fail;
	lp_spin_lock(&lp_registry_lock);
	ok = describe_garbage_locked(p);
	if (ok && promote)
		lp_generations_promote_locked(gen);
	lp_spin_unlock(&lp_registry_lock);
	if (!ok)
		goto fail;
	return (long)p->det.unreachable.len;
fail:
	lp_objects_pass_free(p);
	return -1;
}

void
lp_objects_pass_free(struct lp_pass *p)
{
	lp_detect_free(&p->det);
	lp_vec_free(&p->objs);
	lp_vec_free(&p->refcnts);
	lp_vec_free(&p->recs);
	lp_vec_free(&p->info);
}

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
