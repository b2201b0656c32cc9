/* SPDX-License-Identifier: MIT */
/*
 * views.c - what the report says of each Python object it shows, read at
 * gather time with the GIL held: descriptions, sizes, refcounts,
 * allocation tracebacks, and the steps of each owner's retention chain.
 * The renderers (report/render_*_python.c) then read this data only.
 */
#include <string.h>

#include "core/bootstrap.h"
#include "detect/pyabi.h"
#include "python/capi.h"
#include "python/section.h"

/* Post: v describes obj; v->frames holds its traceback (most recent
 * first) while v->traceback is held.  Out of memory: no frames. */
static void
view_object(struct lp_py_view *v, uintptr_t obj, int64_t extra_refs)
{
	uintptr_t t = lp_py_type(obj);

	v->address = obj;
	v->qualified_type = lp_py_type_name(t);
	v->type = lp_py_short_name(v->qualified_type);
	lp_cpython_describe(obj, v->description, sizeof(v->description));
	v->size = lp_cpython_object_size(obj);
	v->refcount = lp_py_refcnt(obj) - extra_refs;
	v->traceback = lp_cpython_traceback(obj, &v->nframes);
	if (!v->nframes)
		return;
	v->frames = lp_real.calloc(v->nframes, sizeof(*v->frames));
	if (!v->frames) {
		v->nframes = 0;
		return;
	}
	for (size_t i = 0; i < v->nframes; i++)
		lp_cpython_traceback_frame(v->traceback, i, &v->frames[i].file, &v->frames[i].line);
}

static void
release_view(struct lp_py_view *v)
{
	if (v->traceback)
		lp_cpython_traceback_done(v->traceback);
	lp_real.free(v->frames);
	memset(v, 0, sizeof(*v));
}

/* The first members of the first groups, as the limits say. */
static void
view_members(struct lp_py_section *s, struct lp_py_view_limits limits)
{
	size_t n = s->det.unreachable.len;

	if (!n || !(s->members = lp_real.calloc(n, sizeof(*s->members))))
		return;
	for (size_t gi = 0; gi < s->det.groups.len && gi < limits.groups; gi++) {
		const struct lp_detect_group *g =
			&LP_VEC_AT(&s->det.groups, struct lp_detect_group, gi);
		for (uint32_t k = 0; k < g->count && k < limits.per_group; k++) {
			bool cyc;
			int gen;
			uintptr_t o = lp_py_group_member(s, g, k, &cyc, &gen);
			view_object(&s->members[g->first + k], o, s->det.extra_all);
		}
	}
}

/* The owner, and each step from a module to it: how one object holds
 * the next (the last through the untracked container, if any).  A holder
 * that is the owner itself ends the chain. */
static void
view_owner(struct lp_py_section *s, struct lp_py_owner *ow)
{
	view_object(&ow->view, ow->owner, 0);
	size_t max = ow->path.len + 1;
	if (!ow->path.len || !(ow->steps = lp_real.calloc(max, sizeof(*ow->steps))))
		return;
	const uint32_t *p = ow->path.data;
	uintptr_t last = ow->via ? ow->via : ow->owner;
	for (size_t k = 0; k < ow->path.len; k++) {
		uintptr_t from = LP_VEC_AT(&s->objs, uintptr_t, p[k]);
		uintptr_t to = k + 1 < ow->path.len ? LP_VEC_AT(&s->objs, uintptr_t, p[k + 1]) : last;
		if (from == ow->owner)
			break;
		lp_cpython_describe_step(from, to, &ow->steps[ow->nsteps++]);
	}
	ow->nchain = ow->nsteps;
	if (ow->via)
		lp_cpython_describe_step(ow->via, ow->owner, &ow->steps[ow->nsteps++]);
}

void
lp_cpython_view(struct lp_py_section *s, struct lp_py_view_limits limits)
{
	if (s->detected)
		view_members(s, limits);
	for (size_t i = 0; s->owners && i < s->nowners; i++)
		if (s->owners[i].owner)
			view_owner(s, &s->owners[i]);
}

void
lp_cpython_release_views(struct lp_py_section *s)
{
	for (size_t i = 0; s->members && i < s->det.unreachable.len; i++)
		if (s->members[i].address)
			release_view(&s->members[i]);
	lp_real.free(s->members);
	s->members = NULL;
	for (size_t i = 0; s->owners && i < s->nowners; i++) {
		release_view(&s->owners[i].view);
		lp_real.free(s->owners[i].steps);
		s->owners[i].steps = NULL;
		s->owners[i].nsteps = s->owners[i].nchain = 0;
	}
}
