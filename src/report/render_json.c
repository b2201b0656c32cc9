/* SPDX-License-Identifier: MIT */
/* report_json.c - the report for tools: schema leakprobe-report/1, see
 * docs/report-format.md.  Extend, never break. */
#include <inttypes.h>

#include "leakprobe.h"

#include "core/warn.h"
#include "detect/pyabi.h"
#include "objects/objects.h"
#include "record/stackdepot.h"
#include "report/render_objects.h"
#include "report/render_python.h"
#include "report/report.h"
#include "report/suppressions.h"
#include "report/symbolize.h"

static void
print_frame(struct lp_lw *lw, bool first, const struct lp_frame *f,
	    const struct lp_frame_name *name, bool inlined)
{
	lp_lw_printf(lw, "%s{\"ip\": \"%p\", \"function\": ", first ? "" : ", ",
		     (void *)f->ip);
	lp_lw_json_string(lw, name->function);
	lp_lw_puts(lw, ", \"file\": ");
	lp_lw_json_string(lw, name->file);
	if (name->file)
		lp_lw_printf(lw, ", \"line\": %d", name->line);
	else
		lp_lw_puts(lw, ", \"line\": null");
	lp_lw_puts(lw, ", \"module\": ");
	lp_lw_json_string(lw, f->module);
	lp_lw_printf(lw, ", \"offset\": \"0x%lx\"%s}", (unsigned long)f->offset,
		     inlined ? ", \"inlined\": true" : "");
}

/* A captured frame with calls inlined at it becomes several frame
 * objects, the inlined ones first ("inlined": true), as in the text. */
static void
print_stack(struct lp_lw *lw, uint32_t id)
{
	const struct lp_stack *s = lp_stackdepot_get(id);
	bool first = true;

	lp_lw_puts(lw, "[");
	for (uint32_t i = 0; s && i < s->depth; i++) {
		struct lp_frame f;
		lp_symbolize_frame(s, i, &f);
		for (uint32_t k = 0; k < f.ninlined; k++, first = false)
			print_frame(lw, first, &f, &f.inlined[k], true);
		struct lp_frame_name outer = { f.function, f.file, f.line };
		print_frame(lw, first, &f, &outer, false);
		first = false;
	}
	lp_lw_puts(lw, "]");
}

static void
render_objects(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_objects_stats *os = &r->objects;

	lp_lw_puts(lw, " \"generations\": [");
	for (int g = 0; os->in_use && g < LP_NGEN; g++) {
		const struct lp_gen_stats *gs = &os->gen[g];
		lp_lw_printf(lw, "%s\n  {\"gen\": %d, \"count\": %" PRId64 ", \"threshold\": %" PRId64
			     ", \"objects\": %" PRIu64 ", \"by_type\": {",
			     g ? "," : "", g, gs->count, gs->threshold, gs->objects);
		lp_by_type_json(lw, &gs->by_type);
		lp_lw_puts(lw, "}}");
	}
	lp_lw_puts(lw, "],\n \"unreachable\": [");
	size_t ngroups = r->detected ? r->pass.det.groups.len : 0;
	for (size_t gi = 0; gi < ngroups; gi++) {
		const struct lp_detect_group *g =
			&LP_VEC_AT(&r->pass.det.groups, struct lp_detect_group, gi);
		lp_lw_printf(lw, "%s\n  {\"objects\": [", gi ? "," : "");
		for (uint32_t k = 0; k < g->count; k++) {
			bool cyc;
			const struct lp_obj *o = lp_group_member(r, gi, k, &cyc);
			lp_lw_printf(lw, "%s\n    {\"address\": \"%p\", \"type\": ", k ? "," : "",
				     (void *)o->addr);
			lp_lw_json_string(lw, lp_obj_type_name(o));
			lp_lw_puts(lw, ", \"qualified_type\": ");
			lp_lw_json_string(lw, lp_py_type_name(o->type));
			lp_lw_printf(lw, ", \"size\": %u, \"refcount\": %" PRId64
				     ", \"generation\": %d, \"in_cycle\": %s, \"incref_calls\": %u"
				     ", \"decref_calls\": %u, \"ledger_module\": ",
				     o->size, lp_py_refcnt(o->addr), o->gen,
				     cyc ? "true" : "false", o->incs, o->decs);
			lp_lw_json_string(lw, lp_objects_module_name(o->module));
			lp_lw_puts(lw, ", \"stack\": ");
			print_stack(lw, o->stack);
			lp_lw_puts(lw, "}");
		}
		lp_lw_puts(lw, "],\n   \"edges\": [");
		const uint32_t(*e)[2] = r->pass.det.edges.data;
		for (uint32_t k = 0; k < g->nedges; k++)
			lp_lw_printf(lw, "%s[%u, %u]", k ? ", " : "",
				     e[g->first_edge + k][0], e[g->first_edge + k][1]);
		lp_lw_printf(lw, "], \"bytes\": %" PRIu64 "}", g->bytes);
	}
	lp_lw_puts(lw, "],\n \"detector\": ");
	if (r->detected)
		lp_lw_printf(lw, "{\"objects\": %u, \"seconds\": %.6f, \"generation\": %d"
			     ", \"unreachable\": %zu, \"clamped\": %" PRIu64 "}",
			     r->pass.det.n, r->pass.det.seconds, r->pass.generation,
			     r->pass.det.unreachable.len, r->pass.det.clamped);
	else if (r->detector_note) {
		lp_lw_puts(lw, "{\"skipped\": ");
		lp_lw_json_string(lw, r->detector_note);
		lp_lw_puts(lw, "}");
	} else
		lp_lw_puts(lw, "null");
	lp_lw_puts(lw, "\n");
}

/* What the report cost before it was rendered, for a user deciding how
 * often to ask for one. */
static void
render_cost(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_report_cost *c = &r->cost;
	lp_lw_printf(lw, " \"cost_ms\": {\"heap\": %.3f, \"classify\": %.3f, \"python_enumerate\": %.3f, "
		     "\"python_detector\": %.3f, \"python_owners\": %.3f, \"objects\": %.3f, "
		     "\"symbolize\": %.3f",
		     c->heap / 1e6, c->classify / 1e6, c->py_enumerate / 1e6, c->py_detect / 1e6, c->py_owners / 1e6,
		     c->objects / 1e6, c->symbolize / 1e6);
	lp_lw_puts(lw, "},\n");
}

static const char *
site_kind(unsigned kind)
{
	return kind < LP_LEAK_KINDS ? lp_leak_kind_name(kind) : "live";
}

/* heap.lost (closing heap) and classify: null when this report did not
 * classify. */
static void
render_verdict(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_classify *c = &r->classify;
	static const char *const names[] = { "definitely", "indirectly", "possibly", "reachable" };
	if (!c->done) {
		lp_lw_puts(lw, ", \"lost\": null},\n \"classify\": null, \"suppressions\": [],\n");
		return;
	}
	lp_lw_puts(lw, ", \"lost\": {");
	for (int k = 0; k < LP_LEAK_KINDS; k++)
		lp_lw_printf(lw, "\"%s\": {\"blocks\": %" PRIu64 ", \"bytes\": %" PRIu64 "}, ",
			     names[k], c->totals.blocks[k], c->totals.bytes[k]);
	lp_lw_printf(lw, "\"reachable_via_heuristic\": {\"blocks\": %" PRIu64 ", \"bytes\": %" PRIu64
		     "}, \"suppressed\": {\"blocks\": %" PRIu64 ", \"bytes\": %" PRIu64
		     ", \"python_groups\": %" PRIu64 "}}},\n",
		     c->totals.heuristic_blocks, c->totals.heuristic_bytes, r->suppressed_blocks,
		     r->suppressed_bytes, r->suppressed_groups);
	lp_lw_puts(lw, " \"suppressions\": [");
	bool first = true;
	for (size_t i = 0; lp_suppression_at(i); i++) {
		const struct lp_suppression *sup = lp_suppression_at(i);
		if (!sup->hits)
			continue;
		lp_lw_printf(lw, "%s{\"type\": \"%s\", \"pattern\": ", first ? "" : ", ",
			     sup->cycle ? "cycle" : "leak");
		lp_lw_json_string(lw, sup->pattern);
		lp_lw_printf(lw, ", \"builtin\": %s, \"count\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
			     sup->builtin ? "true" : "false", sup->hits, sup->bytes);
		first = false;
	}
	lp_lw_puts(lw, "],\n");
	lp_lw_printf(lw, " \"classify\": {\"seconds\": %.6f, \"prepare_seconds\": %.6f, "
		     "\"snapshot_seconds\": %.6f, \"roots_bytes\": %" PRIu64
		     ", \"threads\": %u, \"threads_sampled\": %u, "
		     "\"threads_without_stack_pointer\": %u, "
		     "\"unreadable_blocks\": %" PRIu64 ", \"method\": \"snapshot\"},\n",
		     c->seconds, c->sort_seconds, c->snapshot_seconds, c->roots_bytes, c->threads,
		     c->threads_sampled, c->threads_unknown_sp,
		     c->unreadable_blocks);
}

void
lp_report_render_json(struct lp_lw *lw, const struct lp_report *r)
{
	const struct lp_heap_totals *t = &r->totals;

	lp_lw_printf(lw, "{\"schema\": \"leakprobe-report/1\", \"pid\": %d, \"command\": ",
		     r->pid);
	lp_lw_json_string(lw, r->command);
	lp_lw_printf(lw, ", \"reason\": \"%s\", \"label\": ", lp_reason_name(r->reason));
	lp_lw_json_string(lw, r->label);
	lp_lw_printf(lw, ", \"seq\": %u, \"uptime_s\": %.3f, \"monotonic_s\": %.6f,\n",
		     r->seq, r->uptime_s, (double)r->now_ns / 1e9);
	lp_lw_puts(lw, " \"warnings\": [");
	for (unsigned i = 0; i < r->nwarnings; i++) {
		if (i)
			lp_lw_puts(lw, ", ");
		lp_lw_json_string(lw, r->warnings[i]);
	}
	lp_lw_puts(lw, "], \"notes\": [");
	for (unsigned i = 0; lp_note_at(i); i++) {
		lp_lw_puts(lw, i ? ", " : "");
		lp_lw_json_string(lw, lp_note_at(i));
	}
	lp_lw_printf(lw, "], \"signals_coalesced\": %" PRIu64 ",\n", r->signals_coalesced);
	render_cost(lw, r);
	lp_lw_printf(lw, " \"heap\": {\"live_blocks\": %" PRIu64 ", \"live_bytes\": %" PRIu64
		     ", \"peak_bytes\": %" PRIu64 ", \"total_allocs\": %" PRIu64
		     ", \"total_frees\": %" PRIu64 ", \"untracked_frees\": %" PRIu64
		     ", \"table_bytes\": %" PRIu64 ", \"header_bytes\": %" PRIu64
		     ", \"depot_bytes\": %zu",
		     t->live_blocks, t->live_bytes, t->peak_bytes, t->allocs,
		     t->frees, r->untracked_frees, t->table_bytes, t->header_bytes,
		     r->depot_bytes);
	render_verdict(lw, r);

	/* LEAKPROBE_REPORT_LEAKS_ONLY: the lost sites alone (a verdict's
	 * worth for a tool that compares reports: the pytest plugin). */
	bool lost_only = (r->flags & LEAKPROBE_REPORT_LEAKS_ONLY) && r->classify.done;
	lp_lw_printf(lw, " \"sites_listed\": \"%s\",\n \"sites\": [", lost_only ? "lost" : "all");
	for (size_t i = 0, listed = 0; i < r->nsites; i++) {
		const struct lp_site *s = &r->sites[i];
		if (lost_only && s->kind >= LP_LEAK_REACHABLE)
			continue;
		lp_lw_printf(lw, "%s\n  {\"kind\": \"%s\", \"blocks\": %" PRIu64
			     ", \"bytes\": %" PRIu64 ", ",
			     listed++ ? "," : "", site_kind(s->kind), s->blocks, s->bytes);
		if (s->suppressed) {
			lp_lw_puts(lw, "\"suppressed\": ");
			lp_lw_json_string(lw, s->suppressed->pattern);
			lp_lw_puts(lw, ", ");
		}
		lp_lw_puts(lw, "\"stack\": ");
		print_stack(lw, s->stack);
		lp_lw_puts(lw, "}");
	}
	lp_lw_printf(lw, "],\n \"large_threshold\": %" PRIu64 ",\n \"large\": [",
		     r->large_threshold);
	for (size_t i = 0; i < r->nlarge; i++) {
		const struct lp_block *b = &r->large[i];
		double age = b->birth_ns && r->now_ns > b->birth_ns
				     ? (double)(r->now_ns - b->birth_ns) / 1e9 : 0;
		lp_lw_printf(lw, "%s\n  {\"address\": \"%p\", \"size\": %" PRIu64
			     ", \"age_s\": %.6f, \"kind\": \"%s\", \"stack\": ",
			     i ? "," : "", (void *)b->ptr, b->size, age,
			     site_kind(r->large_kind ? r->large_kind[i] : LP_LEAK_KINDS));
		print_stack(lw, b->stack);
		if (r->py)
			lp_report_json_owner(lw, r->py, i);
		lp_lw_puts(lw, "}");
	}
	lp_lw_puts(lw, "],\n");
	/* The registry's summary always; generations, unreachable groups and
	 * the detector from the interpreter when there is one. */
	const struct lp_objects_stats *os = &r->objects;
	lp_lw_printf(lw, " \"objects\": {\"registered\": %" PRIu64 ", \"tracked\": %" PRIu64
		     ", \"incref_calls\": %" PRIu64 ", \"decref_calls\": %" PRIu64 "},\n",
		     os->registered, os->tracked, os->incref_calls, os->decref_calls);
	if (r->py)
		lp_report_render_json_python(lw, r->py);
	else
		render_objects(lw, r);
	lp_lw_puts(lw, "}\n");
}
