/* SPDX-License-Identifier: MIT */
/* pass.c - one detector pass over the registry's generations (objects.h):
 * gather them under the lock, run the detector without it, then copy the
 * garbage's records and, for a collection, promote.  Called with the guard
 * held. */
#include <string.h>

#include "detect/pyabi.h"
#include "objects/generations.h"
#include "objects/objects.h"

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
