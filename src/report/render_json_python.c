/* SPDX-License-Identifier: MIT */
/*
 * render_json_python.c - the Python part of a report as JSON: the interpreter's
 * state, its generations, the unreachable groups the detector found, and
 * the owners of large blocks with their retention chains, from the data
 * python/ gathered (section.h): no Python function is called here (type
 * names are read from the type objects, alive while the GIL is held).
 */
#include <inttypes.h>

#include "core/linewriter.h"
#include "detect/pyabi.h"
#include "python/describe.h"
#include "python/section.h"
#include "report/render_objects.h"
#include "report/render_python.h"
#include "report/report.h"

/* PYFRAME list, most recent last (tracemalloc gives most recent first). */
static void
json_traceback(struct lp_lw *lw, const struct lp_py_view *v)
{
	lp_lw_puts(lw, "[");
	for (size_t k = 0; k < v->nframes; k++) {
		const struct lp_py_frame *f = &v->frames[v->nframes - 1 - k];
		lp_lw_puts(lw, k == 0 ? "{\"file\": " : ", {\"file\": ");
		lp_lw_json_string(lw, f->file);
		lp_lw_printf(lw, ", \"line\": %lld}", f->line);
	}
	lp_lw_puts(lw, "]");
}

void
lp_report_render_json_python(struct lp_lw *lw, const struct lp_py_section *s)
{
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
	size_t ngroups = s->detected && s->members ? s->det.groups.len : 0;
	for (size_t gi = 0; gi < ngroups; gi++) {
		const struct lp_detect_group *g =
			&LP_VEC_AT(&s->det.groups, struct lp_detect_group, gi);
		uint64_t bytes = 0;
		lp_lw_printf(lw, "%s\n  {\"objects\": [", gi ? "," : "");
		for (uint32_t k = 0; k < g->count; k++) {
			bool cyc;
			int gen;
			lp_py_group_member(s, g, k, &cyc, &gen);
			const struct lp_py_view *v = &s->members[g->first + k];
			bytes += v->size;
			lp_lw_printf(lw, "%s\n    {\"address\": \"%p\", \"type\": ", k ? "," : "",
				     (void *)v->address);
			lp_lw_json_string(lw, v->type);
			lp_lw_puts(lw, ", \"qualified_type\": ");
			lp_lw_json_string(lw, v->qualified_type);
			lp_lw_printf(lw, ", \"size\": %" PRIu64 ", \"refcount\": %" PRId64
				     ", \"generation\": %d, \"in_cycle\": %s, \"description\": ",
				     v->size, v->refcount, gen, cyc ? "true" : "false");
			lp_lw_json_string(lw, v->description);
			lp_lw_puts(lw, ", \"traceback\": ");
			json_traceback(lw, v);
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
json_step(struct lp_lw *lw, const struct lp_py_step *st)
{
	lp_lw_puts(lw, "{\"type\": ");
	lp_lw_json_string(lw, st->type);
	if (st->module) {
		lp_lw_puts(lw, ", \"name\": ");
		lp_lw_json_string(lw, st->name);
	} else if (st->key[0]) {
		lp_lw_puts(lw, ", \"key\": ");
		lp_lw_json_string(lw, st->key);
	} else if (st->index >= 0) {
		lp_lw_printf(lw, ", \"index\": %ld", st->index);
	} else if (st->instance) {
		/* 3.8-3.10: the next step is the instance's __dict__, whose
		 * key names the attribute; 3.11+ managed dicts hide it. */
		lp_lw_puts(lw, ", \"attribute\": null");
	}
	lp_lw_puts(lw, "}");
}

void
lp_report_json_owner(struct lp_lw *lw, const struct lp_py_section *s, size_t i)
{
	if (!s->owners || !s->owners[i].owner)
		return;
	const struct lp_py_owner *ow = &s->owners[i];
	lp_lw_puts(lw, ", \"owner\": {\"type\": ");
	lp_lw_json_string(lw, ow->view.type);
	lp_lw_printf(lw, ", \"address\": \"%p\", \"traceback\": ", (void *)ow->owner);
	json_traceback(lw, &ow->view);
	lp_lw_puts(lw, ", \"retained_by\": [");
	for (size_t k = 0; k < ow->nsteps; k++) {
		if (k)
			lp_lw_puts(lw, ", ");
		json_step(lw, &ow->steps[k]);
	}
	lp_lw_puts(lw, "]");
	if (ow->group >= 0)
		lp_lw_printf(lw, ", \"unreachable_group\": %d", ow->group);
	lp_lw_puts(lw, "}");
}
