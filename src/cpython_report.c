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

#include "cpython.h"
#include "cpython_section.h"
#include "pyabi.h"
#include "pyapi.h"
#include "report_objects.h"
#include "stackdepot.h"
#include "trial_deletion.h"



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
lp_cpython_gather(const struct lp_report *r)
{
	void *gc = lp_cpython_gc_module();
	struct lp_py_section *s;

	if (!gc || !(s = calloc(1, sizeof(*s))))
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
	if (s->detected && r->nlarge)
		lp_cpython_find_owners(r, s);
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
lp_cpython_release(const struct lp_report *r, struct lp_py_section *s)
{
	if (!s)
		return;
	void *et, *ev, *tb;
	lp_py.Err_Fetch(&et, &ev, &tb);
	lp_cpython_free_owners(r, s);
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
	free(s);
}

/* --- describing objects without running Python code ----------------------- */

static const char *
str_of(void *o)
{
	const char *u = o && lp_py_type((uintptr_t)o) == (uintptr_t)lp_py.Unicode_Type
				? lp_py.Unicode_AsUTF8(o) : NULL;
	if (!u)
		lp_py.Err_Clear();
	return u;
}

/* An attribute served by a C getset/member of an exact builtin type. */
static void
builtin_attr(void *o, const char *name, char *buf, size_t cap)
{
	void *a = lp_py.GetAttrString(o, name);
	const char *u = str_of(a);
	lp_fmt(buf, cap, "%s", u ? u : "?");
	if (a)
		lp_py.DecRef(a);
	lp_py.Err_Clear();
}

void
lp_cpython_describe(uintptr_t obj, char *buf, size_t cap)
{
	void *o = (void *)obj;
	uintptr_t t = lp_py_type(obj);
	char tmp[200];

	if (t == (uintptr_t)lp_py.Function_Type) {
		builtin_attr(o, "__qualname__", tmp, sizeof(tmp));
		lp_fmt(buf, cap, "function %s", tmp);
	} else if (t == (uintptr_t)lp_py.Gen_Type) {
		builtin_attr(o, "__qualname__", tmp, sizeof(tmp));
		lp_fmt(buf, cap, "generator %s", tmp);
	} else if (t == (uintptr_t)lp_py.Type_Type) {
		lp_fmt(buf, cap, "class %s", lp_py_type_name(obj));
	} else if (t == (uintptr_t)lp_py.Module_Type) {
		const char *n = lp_py.Module_GetName(o);
		lp_fmt(buf, cap, "module %s", n ? n : "?");
		lp_py.Err_Clear();
	} else if (t == (uintptr_t)lp_py.Method_Type) {
		void *f = lp_py.GetAttrString(o, "__func__");
		if (f && lp_py_type((uintptr_t)f) == (uintptr_t)lp_py.Function_Type)
			builtin_attr(f, "__qualname__", tmp, sizeof(tmp));
		else
			lp_fmt(tmp, sizeof(tmp), "?");
		if (f)
			lp_py.DecRef(f);
		lp_py.Err_Clear();
		lp_fmt(buf, cap, "bound method %s", tmp);
	} else if (t == (uintptr_t)lp_py.List_Type || t == (uintptr_t)lp_py.Dict_Type ||
		   t == (uintptr_t)lp_py.Tuple_Type || t == (uintptr_t)lp_py.Set_Type) {
		ssize_t n = lp_py.Object_Size(o);
		lp_py.Err_Clear();
		lp_fmt(buf, cap, "%s of %ld", lp_py_type_name(t), (long)n);
	} else if (t == (uintptr_t)lp_py.Cell_Type) {
		lp_fmt(buf, cap, "cell");
	} else {
		lp_fmt(buf, cap, "%s object", lp_py_short_name(lp_py_type_name(t)));
	}
}

/* tracemalloc knows the block, which starts before the object by the
 * GC head and, for managed-dict instances (3.11+), the pre-header. */
static void *
allocation_traceback(uintptr_t obj)
{
	if (!lp_py.TraceMalloc_GetTraceback)
		return NULL;
	uintptr_t t = lp_py_type(obj);
	unsigned long flags = lp_py_type_flags(t);
	uintptr_t pre = (flags & LP_PY_TPFLAGS_HAVE_GC) ? LP_PY_GC_HEAD_SIZE : 0;
	int minor = lp_cpython_minor();
	if ((minor == 11 && (flags & (1ul << 4))) ||
	    (minor >= 12 && (flags & ((1ul << 4) | (1ul << 3)))))
		pre += 16;
	void *tb = lp_py.TraceMalloc_GetTraceback(0, obj - pre);
	if (!tb)
		lp_py.Err_Clear();
	if (tb == lp_py.None) {
		lp_py.DecRef(tb);
		return NULL;
	}
	return tb;
}

/* PYFRAME list, most recent last (tracemalloc gives most recent first). */
void
lp_cpython_json_traceback(struct lp_lw *lw, uintptr_t obj)
{
	void *tb = allocation_traceback(obj);
	lp_lw_puts(lw, "[");
	ssize_t n = tb ? lp_py.Tuple_Size(tb) : 0;
	for (ssize_t i = n - 1; i >= 0; i--) {
		void *fr = lp_py.Tuple_GetItem(tb, i);
		const char *file = str_of(lp_py.Tuple_GetItem(fr, 0));
		long long line = lp_py.Long_AsLongLong(lp_py.Tuple_GetItem(fr, 1));
		lp_lw_puts(lw, i == n - 1 ? "{\"file\": " : ", {\"file\": ");
		lp_lw_json_string(lw, file);
		lp_lw_printf(lw, ", \"line\": %lld}", line);
	}
	lp_lw_puts(lw, "]");
	if (tb)
		lp_py.DecRef(tb);
	lp_py.Err_Clear();
}

static uint64_t
object_size(uintptr_t obj)
{
	uintptr_t t = lp_py_type(obj);
	int64_t size = lp_py_type_basicsize(t), item = lp_py_type_itemsize(t);
	if (item) {
		int64_t n = *(const int64_t *)(obj + 16);
		size += item * (n < 0 ? -n : n);
	}
	return (uint64_t)size;
}

/* --- rendering ------------------------------------------------------------ */

static uintptr_t
member(const struct lp_py_section *s, const struct lp_detect_group *g, uint32_t k,
       bool *cyc, int *gen)
{
	uint32_t pos = g->first + k;
	uint32_t idx = LP_VEC_AT(&s->det.unreachable, uint32_t, pos);
	*cyc = LP_VEC_AT(&s->det.in_cycle, uint8_t, pos);
	*gen = LP_VEC_AT(&s->gens, uint8_t, idx);
	return LP_VEC_AT(&s->objs, uintptr_t, idx);
}

void
lp_cpython_render_json(struct lp_lw *lw, const struct lp_report *r,
		       struct lp_py_section *s)
{
	char desc[256];
	(void)r;

	lp_lw_puts(lw, " \"python\": {\"version\": ");
	lp_lw_json_string(lw, s->version);
	lp_lw_printf(lw, ", \"safe_point\": \"%s\"", s->via);
	lp_lw_printf(lw, ", \"gc_enabled\": %s, \"count\": [%lld, %lld, %lld], "
		     "\"threshold\": [%lld, %lld, %lld], \"tracemalloc\": %s},\n",
		     s->gc_enabled ? "true" : "false", s->count[0], s->count[1], s->count[2],
		     s->threshold[0], s->threshold[1], s->threshold[2],
		     s->tracemalloc ? "true" : "false");
	lp_lw_puts(lw, " \"generations\": [");
	for (int g = 0; g < 3; g++) {
		lp_lw_printf(lw, "%s\n  {\"gen\": %d, \"count\": %lld, \"threshold\": %lld"
			     ", \"objects\": %" PRIu64 ", \"by_type\": {",
			     g ? "," : "", g, s->count[g], s->threshold[g], s->nobjs[g]);
		lp_by_type_json(lw, &s->by_type[g]);
		lp_lw_puts(lw, "}}");
	}
	lp_lw_puts(lw, "],\n \"unreachable\": [");
	size_t ngroups = s->detected ? s->det.groups.len : 0;
	for (size_t gi = 0; gi < ngroups; gi++) {
		const struct lp_detect_group *g =
			&LP_VEC_AT(&s->det.groups, struct lp_detect_group, gi);
		uint64_t bytes = 0;
		lp_lw_printf(lw, "%s\n  {\"objects\": [", gi ? "," : "");
		for (uint32_t k = 0; k < g->count; k++) {
			bool cyc;
			int gen;
			uintptr_t o = member(s, g, k, &cyc, &gen);
			uintptr_t t = lp_py_type(o);
			uint64_t size = object_size(o);
			bytes += size;
			lp_cpython_describe(o, desc, sizeof(desc));
			lp_lw_printf(lw, "%s\n    {\"address\": \"%p\", \"type\": ", k ? "," : "",
				     (void *)o);
			lp_lw_json_string(lw, lp_py_short_name(lp_py_type_name(t)));
			lp_lw_puts(lw, ", \"qualified_type\": ");
			lp_lw_json_string(lw, lp_py_type_name(t));
			lp_lw_printf(lw, ", \"size\": %" PRIu64 ", \"refcount\": %" PRId64
				     ", \"generation\": %d, \"in_cycle\": %s, \"description\": ",
				     size, lp_py_refcnt(o) - s->det.extra_all, gen, cyc ? "true" : "false");
			lp_lw_json_string(lw, desc);
			lp_lw_puts(lw, ", \"traceback\": ");
			lp_cpython_json_traceback(lw, o);
			lp_lw_puts(lw, "}");
		}
		lp_lw_puts(lw, "],\n   \"edges\": [");
		const uint32_t(*e)[2] = s->det.edges.data;
		for (uint32_t k = 0; k < g->nedges; k++)
			lp_lw_printf(lw, "%s[%u, %u]", k ? ", " : "",
				     e[g->first_edge + k][0], e[g->first_edge + k][1]);
		lp_lw_printf(lw, "], \"bytes\": %" PRIu64 "}", bytes);
	}
	lp_lw_puts(lw, "],\n \"detector\": ");
	if (s->detected)
		lp_lw_printf(lw, "{\"objects\": %u, \"seconds\": %.6f, \"generation\": 2"
			     ", \"unreachable\": %zu, \"clamped\": %" PRIu64 ", \"source\": \"interpreter\""
			     ", \"enumeration\": \"%s\"}",
			     s->det.n, s->det.seconds, s->det.unreachable.len, s->det.clamped,
			     s->enumeration);
	else
		lp_lw_puts(lw, "{\"skipped\": \"out of memory\"}");
	lp_lw_puts(lw, "\n");
}


static void
text_traceback_top(struct lp_lw *lw, uintptr_t obj)
{
	void *tb = allocation_traceback(obj);
	if (tb && lp_py.Tuple_Size(tb) > 0) {
		void *fr = lp_py.Tuple_GetItem(tb, 0);
		const char *file = str_of(lp_py.Tuple_GetItem(fr, 0));
		long long line = lp_py.Long_AsLongLong(lp_py.Tuple_GetItem(fr, 1));
		lp_lw_printf(lw, ", allocated at %s:%lld", file ? file : "?", line);
	}
	if (tb)
		lp_py.DecRef(tb);
	lp_py.Err_Clear();
}

void
lp_cpython_render_text(struct lp_lw *lw, const struct lp_report *r,
		       struct lp_py_section *s)
{
	char desc[256];

	LP_LINE(lw, r, "\n");
	LP_LINE(lw, r, "Python %s: gc %s, count (%lld, %lld, %lld), threshold (%lld, %lld, %lld)%s"
	  " (read at safe point: %s)\n",
	  s->version, s->gc_enabled ? "enabled" : "disabled", s->count[0], s->count[1],
	  s->count[2], s->threshold[0], s->threshold[1], s->threshold[2],
	  s->tracemalloc ? ", tracemalloc on" : "", s->via);
	for (int g = 0; g < 3; g++) {
		const struct lp_type_count *tc = s->by_type[g].data;
		LP_LINE(lw, r, "  generation %d: %" PRIu64 " objects", g, s->nobjs[g]);
		for (size_t i = 0; i < s->by_type[g].len && i < 8; i++)
			lp_lw_printf(lw, "%s%s %" PRIu64, i ? ", " : ": ",
				     lp_py_short_name(lp_py_type_name(tc[i].type)), tc[i].count);
		lp_lw_puts(lw, s->by_type[g].len > 8 ? ", ...\n" : "\n");
	}
	if (!s->detected)
		return;
	size_t ngroups = s->det.groups.len;
	for (size_t gi = 0; gi < ngroups && gi < 50; gi++) {
		const struct lp_detect_group *g =
			&LP_VEC_AT(&s->det.groups, struct lp_detect_group, gi);
		LP_LINE(lw, r, "\n");
		LP_LINE(lw, r, "Unreachable group %zu: %u objects\n", gi + 1, g->count);
		for (uint32_t k = 0; k < g->count && k < 20; k++) {
			bool cyc;
			int gen;
			uintptr_t o = member(s, g, k, &cyc, &gen);
			lp_cpython_describe(o, desc, sizeof(desc));
			LP_LINE(lw, r, "    [%u] %s@%p (%s), refcount %" PRId64 ", gen %d, %s",
			  k, lp_py_short_name(lp_py_type_name(lp_py_type(o))), (void *)o, desc,
			  lp_py_refcnt(o) - s->det.extra_all, gen, cyc ? "on a cycle" : "hangs off a cycle");
			text_traceback_top(lw, o);
			lp_lw_puts(lw, "\n");
		}
		if (g->count > 20)
			LP_LINE(lw, r, "    ... %u more\n", g->count - 20);
	}
	if (ngroups > 50)
		LP_LINE(lw, r, "... %zu more unreachable groups (JSON lists all)\n", ngroups - 50);
	LP_LINE(lw, r, "\n");
	LP_LINE(lw, r, "detector: %u Python objects examined in %.3f s; %zu unreachable in %zu groups\n",
	  s->det.n, s->det.seconds, s->det.unreachable.len, ngroups);
}
