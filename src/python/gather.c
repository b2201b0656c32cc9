/* SPDX-License-Identifier: MIT */
/*
 * cpython_report.c - the Python part of a report: interpreter and
 * collector state, generations as the interpreter has them, unreachable
 * groups found by the trial-deletion detector over every GC-tracked
 * object, with safe descriptions and tracemalloc tracebacks.
 *
 * Runs with the GIL held and the collector disabled (restored after): an
 * allocation of ours must not start a collection that runs __del__.  No
 * Python code runs: only C functions of exact builtin types are called.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/bootstrap.h"
#include "core/clock.h"
#include "detect/pyabi.h"
#include "detect/trial_deletion.h"
#include "python/capi.h"
#include "python/cpython.h"
#include "python/section.h"
#include "record/stackdepot.h"
static void
read_triple(void *tuple, long long out[3])
{
	for (int i = 0; i < 3; i++) {
		void *it = tuple && lp_py.Tuple_Size(tuple) > i ? lp_py.Tuple_GetItem(tuple, i) : NULL;
		out[i] = it ? lp_py.Long_AsLongLong(it) : -1;
	}
	if (tuple)
		lp_py.DecRef(tuple);
}

/* Histogram of types for one generation, most common first, from the
 * types the enumeration read (s->types). */
static void
count_types(struct lp_py_section *s, int g, size_t from, size_t to)
{
	const uintptr_t *t = s->types.data;
	s->by_type[g] = (struct lp_vec)LP_VEC_INIT(struct lp_type_count);
	for (size_t i = from; i < to; i++) {
		/* The roots of the owners' search. */
		if (t[i] == (uintptr_t)lp_py.Module_Type) {
			uint32_t *m = lp_vec_push(&s->modules);
			if (m)
				*m = (uint32_t)i;
			else
				s->modules_incomplete = true;
		}
	}
	lp_type_histogram(t + from, to - from, &s->by_type[g]);
}

/* Postcondition of both enumerations: objs holds every tracked object,
 * gen0 first, then gen1 and gen2, gens[] their generations, types[] their
 * types and nobjs[g] how many each has. */

/* gc.get_objects(generation=g): the lists we get are themselves new
 * tracked objects (in gen0) and are left out. */
static bool
list_generations(struct lp_py_section *s)
{
	for (int g = 2; g >= 0; g--) {
		s->lists[g] = lp_py.CallFunction(lp_py_gc.get_objects, "i", g);
		if (!s->lists[g])
			lp_py.Err_Clear();
	}
	size_t total = 0;
	for (int g = 0; g < 3; g++)
		total += s->lists[g] ? (size_t)lp_py.List_Size(s->lists[g]) : 0;
	if (!lp_vec_reserve(&s->objs, total + 1) || !lp_vec_reserve(&s->gens, total + 1) ||
	    !lp_vec_reserve(&s->types, total + 1))
		return false;
	for (int g = 0; g < 3; g++) {
		size_t from = s->objs.len;
		ssize_t n = s->lists[g] ? lp_py.List_Size(s->lists[g]) : 0;
		for (ssize_t i = 0; i < n; i++) {
			void *o = lp_py.List_GetItem(s->lists[g], i);
			if (o == s->lists[0] || o == s->lists[1] || o == s->lists[2])
				continue;
			LP_VEC_AT(&s->objs, uintptr_t, s->objs.len++) = (uintptr_t)o;
			LP_VEC_AT(&s->gens, uint8_t, s->gens.len++) = (uint8_t)g;
			LP_VEC_AT(&s->types, uintptr_t, s->types.len++) = lp_py_type((uintptr_t)o);
		}
		s->nobjs[g] = s->objs.len - from;
	}
	return true;
}

/* The collector's own lists, read in place: no allocation in the
 * interpreter, no reference taken, a third of the time of get_objects.
 * The heads are found from a new list, which CPython appends to gen0:
 * its _gc_next is gen0's head.  struct gc_generation is {PyGC_Head head;
 * int threshold, count;} (24 bytes) in 3.8-3.13; the thresholds read
 * there must be gc.get_threshold()'s, and every link must point back.
 * false: not recognised, nothing kept (the caller lists instead). */
#define GC_GENERATION_BYTES 24
#define GC_WALK_LIMIT (UINT32_MAX / 2)

static bool
walk_generations(struct lp_py_section *s)
{
	void *probe = lp_py.List_New ? lp_py.List_New(0) : NULL;
	if (!probe) {
		lp_py.Err_Clear();
		return false;
	}
	uintptr_t gc = (uintptr_t)probe - LP_PY_GC_HEAD_SIZE;
	uintptr_t head0 = *(const uintptr_t *)gc;
	bool ok = head0 && (*(const uintptr_t *)(head0 + 8) & ~(uintptr_t)3) == gc;
	for (int g = 0; ok && g < 3; g++)
		ok = *(const int *)(head0 + g * GC_GENERATION_BYTES + 16) == s->threshold[g];
	lp_py.DecRef(probe); /* freed: off the list again */
	if (!ok)
		return false;
	for (int g = 0; g < 3 && ok; g++) {
		uintptr_t head = head0 + (uintptr_t)g * GC_GENERATION_BYTES, prev = head;
		size_t from = s->objs.len;
		for (uintptr_t n = *(const uintptr_t *)head; n != head; n = *(const uintptr_t *)n) {
			if ((n & 15) || (*(const uintptr_t *)(n + 8) & ~(uintptr_t)3) != prev ||
			    s->objs.len >= GC_WALK_LIMIT) {
				ok = false;
				break;
			}
			uintptr_t *o = lp_vec_push(&s->objs);
			uint8_t *gen = lp_vec_push(&s->gens);
			uintptr_t *type = lp_vec_push(&s->types);
			int64_t *rc = lp_vec_push(&s->refcnts);
			if (!o || !gen || !type || !rc) {
				ok = false;
				break;
			}
			*o = n + LP_PY_GC_HEAD_SIZE;
			*gen = (uint8_t)g;
			*type = lp_py_type(*o); /* the GC head's cache line */
			*rc = lp_py_refcnt(*o);
			prev = n;
		}
		s->nobjs[g] = s->objs.len - from;
	}
	if (!ok) {
		s->objs.len = s->gens.len = s->types.len = s->refcnts.len = 0;
		memset(s->nobjs, 0, sizeof(s->nobjs));
	}
	return ok;
}

struct lp_py_section *
lp_cpython_gather(const struct lp_block *large, size_t nlarge,
		  const struct lp_py_view_limits *limits)
{
	void *gc = lp_cpython_gc_module();
	struct lp_py_section *s;

	if (!gc || !(s = lp_real.calloc(1, sizeof(*s))))
		return NULL;
	void *et, *ev, *tb;
	lp_py.Err_Fetch(&et, &ev, &tb);
	strncpy(s->version, lp_py.GetVersion(), sizeof(s->version) - 1);
	s->via = lp_cpython_via_name();
	char *sp = strchr(s->version, ' ');
	if (sp)
		*sp = 0;
	void *en = lp_cpython_call(lp_py_gc.isenabled);
	s->gc_enabled = en && lp_py.Object_IsTrue(en);
	if (en)
		lp_py.DecRef(en);
	read_triple(lp_cpython_call(lp_py_gc.get_count), s->count);
	read_triple(lp_cpython_call(lp_py_gc.get_threshold), s->threshold);
	void *tr = lp_cpython_call(lp_py_gc.is_tracing);
	s->tracemalloc = tr && lp_py.Object_IsTrue(tr);
	if (tr)
		lp_py.DecRef(tr);
	if (s->gc_enabled) {
		void *d = lp_cpython_call(lp_py_gc.disable);
		if (d)
			lp_py.DecRef(d);
		s->restore_gc = true;
	}

	uint64_t t0 = lp_now_ns();
	s->objs = (struct lp_vec)LP_VEC_INIT(uintptr_t);
	s->gens = (struct lp_vec)LP_VEC_INIT(uint8_t);
	s->modules = (struct lp_vec)LP_VEC_INIT(uint32_t);
	s->types = (struct lp_vec)LP_VEC_INIT(uintptr_t);
	s->refcnts = (struct lp_vec)LP_VEC_INIT(int64_t);
	if (!lp_cpython_collecting() && walk_generations(s)) {
		s->det.extra_all = 0;
		s->enumeration = "gc_lists";
	} else if (list_generations(s)) {
		s->det.extra_all = 1; /* each object is in one of our lists */
		s->enumeration = "get_objects";
	}
	for (size_t g = 0, from = 0; g < 3; from += s->nobjs[g], g++)
		count_types(s, (int)g, from, from + s->nobjs[g]);

	if (!s->enumeration)
		goto out;
	s->det.objs = s->objs.data;
	s->det.n = (uint32_t)s->objs.len;
	s->det.refcnts = s->refcnts.len == s->objs.len ? s->refcnts.data : NULL;
	uint64_t t1 = lp_now_ns();
	s->detected = lp_detect_run(&s->det);
	uint64_t t2 = lp_now_ns();
	if (s->detected && nlarge)
		lp_cpython_find_owners(s, large, nlarge);
	lp_cpython_view(s, *limits);
	s->cost_enumerate = t1 - t0;
	s->cost_detect = t2 - t1;
	s->cost_owners = lp_now_ns() - t2;
out:
	lp_py.Err_Clear();
	lp_py.Err_Restore(et, ev, tb);
	return s;
}

void
lp_cpython_cost(const struct lp_py_section *s, uint64_t *enumerate, uint64_t *detect,
		uint64_t *owners)
{
	if (s) {
		*enumerate = s->cost_enumerate;
		*detect = s->cost_detect;
		*owners = s->cost_owners;
	}
}

void
lp_cpython_release(struct lp_py_section *s)
{
	if (!s)
		return;
	void *et, *ev, *tb;
	lp_py.Err_Fetch(&et, &ev, &tb);
	lp_cpython_release_views(s);
	lp_cpython_free_owners(s);
	if (s->detected)
		lp_detect_free(&s->det);
	for (int g = 0; g < 3; g++) {
		if (s->lists[g])
			lp_py.DecRef(s->lists[g]);
		lp_vec_free(&s->by_type[g]);
	}
	lp_vec_free(&s->objs);
	lp_vec_free(&s->gens);
	lp_vec_free(&s->modules);
	lp_vec_free(&s->types);
	lp_vec_free(&s->refcnts);
	if (s->restore_gc) {
		void *e = lp_cpython_call(lp_py_gc.enable);
		if (e)
			lp_py.DecRef(e);
	}
	lp_py.Err_Clear();
	lp_py.Err_Restore(et, ev, tb);
	lp_real.free(s);
}
